"""``python -m infra.policies.offline --stack dev``: run the policy pack over a stack's offline graph.

The offline engine runs the real program (Pulumi mocks + moto); each resource is then handed to the
policies the way the Pulumi engine does it: resource policies get the resource's *inputs*
(camelCase, numbers as floats) wrapped in the same read-only proxy the CLI uses, stack policies get
every resource's outputs. Prints the violations grouped by enforcement level; exits 1 on any
mandatory violation.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from infra.offline.model import Resource, StackRun
from infra.policies.pack import POLICIES, enforcement_of


@dataclass(frozen=True)
class Violation:
    policy: str
    level: EnforcementLevel
    message: str
    urn: str | None


def _options(r: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=r.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=r.parent,
    )


def _provider(run: StackRun, r: Resource) -> PolicyProviderResource | None:
    if not r.provider:
        return None
    try:
        p = run.by_urn(r.provider)
    except LookupError:
        return None
    return PolicyProviderResource(p.type, unknown_checking_proxy(dict(p.inputs)), p.urn, p.name)


def _checked(resources: Iterable[Resource]) -> list[Resource]:
    """Custom resources; providers and components have no cloud state to judge."""
    return [r for r in resources if r.custom and r.emulation != "provider"]


def resource_args(run: StackRun, r: Resource) -> ResourceValidationArgs:
    props: dict[str, Any] = unknown_checking_proxy(dict(r.inputs))
    return ResourceValidationArgs(r.type, props, r.urn, r.name, _options(r), _provider(run, r))


def stack_args(run: StackRun) -> StackValidationArgs:
    by_urn: dict[str, PolicyResource] = {}
    resources = _checked(run.resources)
    for r in resources:
        props = unknown_checking_proxy({**r.inputs, **r.outputs})
        by_urn[r.urn] = PolicyResource(r.type, props, r.urn, r.name, _options(r), _provider(run, r), None, [], {})
    for r in resources:
        by_urn[r.urn].parent = by_urn.get(r.parent or "")
        by_urn[r.urn].dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
    return StackValidationArgs(list(by_urn.values()))


def _call(
    policy: ResourceValidationPolicy | StackValidationPolicy, args: Any, found: list[Violation], default_urn: str | None
) -> None:
    level = enforcement_of(policy)

    def report_violation(message: str, urn: str | None = None) -> None:
        found.append(Violation(policy.name, level, message, urn or default_urn))

    result = policy.validate(args, report_violation)
    if isawaitable(result):
        asyncio.run(result)  # type: ignore[arg-type]


def evaluate(run: StackRun, policies: Iterable[Policy] = POLICIES) -> list[Violation]:
    """Every violation the policies report on ``run``, resource policies first."""
    policies = [p for p in policies if enforcement_of(p) != EnforcementLevel.DISABLED]
    found: list[Violation] = []
    for r in _checked(run.resources):
        args = resource_args(run, r)
        for policy in policies:
            if isinstance(policy, ResourceValidationPolicy):
                _call(policy, args, found, r.urn)
    whole = stack_args(run)
    for policy in policies:
        if isinstance(policy, StackValidationPolicy):
            _call(policy, whole, found, None)
    return found


def render(stack: str, violations: list[Violation], checked: int) -> str:
    lines = [f"Policy pack over stack {stack}: {checked} resources checked"]
    for level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY):
        mine = [v for v in violations if v.level == level]
        lines.append(f"\n{level.value} ({len(mine)})")
        lines += [f"  {v.policy}: {v.message}" for v in sorted(mine, key=lambda v: (v.policy, v.message))]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from infra.offline.engine import run_stack, stack_names
    from infra.offline.mocks import OfflineError
    from infra.settings import SettingsError

    parser = argparse.ArgumentParser(prog="python -m infra.policies.offline", description=__doc__)
    parser.add_argument("--stack", required=True, choices=stack_names())
    args = parser.parse_args(argv)
    try:
        run = run_stack(args.stack)
    except (OfflineError, SettingsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    violations = evaluate(run)
    print(render(args.stack, violations, len(_checked(run.resources))), end="")
    return 1 if any(v.level == EnforcementLevel.MANDATORY for v in violations) else 0


if __name__ == "__main__":
    sys.exit(main())
