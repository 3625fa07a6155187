"""Helpers for the policy tests: call a policy's ``validate`` the way the Pulumi engine does."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from infra.policies.pack import POLICIES

BY_NAME = {p.name: p for p in POLICIES}
DELETE = object()
"""In an override, removes the key (the program did not set it: the provider default applies)."""


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in depth; ``DELETE`` removes a key."""
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def violations(policy_name: str, resource_type: str, props: Mapping[str, Any], name: str = "subject") -> list[str]:
    """Messages the named resource policy reports for one resource."""
    policy = BY_NAME[policy_name]
    assert isinstance(policy, ResourceValidationPolicy), policy_name
    args = ResourceValidationArgs(
        resource_type, unknown_checking_proxy(dict(props)), f"urn:pulumi:test::webscale::{resource_type}::{name}",
        name, _options(), None,
    )  # fmt: skip
    found: list[str] = []
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def stack_violations(policy_name: str, resources: list[tuple[str, str, Mapping[str, Any]]]) -> list[str]:
    """Messages the named stack policy reports for (type, name, output props) resources."""
    policy = BY_NAME[policy_name]
    assert isinstance(policy, StackValidationPolicy), policy_name
    args = StackValidationArgs(
        [
            PolicyResource(t, unknown_checking_proxy(dict(p)), f"urn:pulumi:test::webscale::{t}::{n}", n, _options(),
                           None, None, [], {})
            for t, n, p in resources
        ]
    )  # fmt: skip
    found: list[str] = []
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found
