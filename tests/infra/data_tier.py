"""Helpers the data-tier tests share."""

from __future__ import annotations

from typing import Any

import pytest

from infra.offline.engine import load_stack_config
from infra.offline.model import Resource, StackRun
from infra.settings import SettingsError, load_settings

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"


def component(run: StackRun, type_: str) -> Resource:
    return run.one(f"webscale:index:{type_}")


def problems_with(section: str, **values: Any) -> list[str]:
    """The settings problems when ``webscale:<section>`` of the dev stack gets ``values``."""
    config = load_stack_config("dev")
    config[f"webscale:{section}"] = {**(config.get(f"webscale:{section}") or {}), **values}
    with pytest.raises(SettingsError) as err:
        load_settings(config, project="webscale", stack="test")
    return err.value.problems


def ingress_of(run: StackRun, group: Resource) -> list[Resource]:
    return [r for r in run.of_type(INGRESS) if r["securityGroupId"] == group.id]
