"""Tags are set once for the stack and reach every taggable resource; names never collide."""

from __future__ import annotations

import re

import pytest

from infra.naming import physical_name
from infra.offline.mocks import is_taggable
from infra.offline.model import StackRun

AWS_FIXED_NAMES = {
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",  # every VPC's is named "default"
    # One per account, named by IAM; a stack creates it only when its account lacks it, so
    # two stacks in one account share it (test_autoscaling_role.py).
    "aws:iam/serviceLinkedRole:ServiceLinkedRole",
}
REQUIRED = ("project", "environment", "managed-by", "owner", "cost-center")


def test_every_taggable_resource_carries_the_stack_tags(each_stack: StackRun):
    taggable = [r for r in each_stack.resources if r.custom and is_taggable(r.type)]
    assert taggable, "no taggable resources found"
    for r in taggable:
        tags = r.outputs.get("tagsAll") or {}
        missing = [k for k in REQUIRED if not tags.get(k)]
        assert not missing, f"{r.type} {r.name} lacks tags {missing}"
        assert tags["environment"] == each_stack.stack, f"{r.type} {r.name} is tagged for another stack"


def test_tags_reach_the_cloud_resources_themselves(each_stack: StackRun):
    """moto received the tags: the VPC in moto's state carries them."""
    vpc = each_stack.one("aws:ec2/vpc:Vpc")
    assert vpc["tagsAll"]["cost-center"].endswith(each_stack.stack)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [(("db",), "webscale-prod-db"), (("Orders DB",), "webscale-prod-orders-db"), ((), "webscale-prod")],
)
def test_physical_name_derives_from_project_and_stack(parts, expected):
    assert physical_name("webscale", "prod", *parts) == expected


def test_long_names_are_cut_to_the_limit_and_end_in_a_hash():
    name = physical_name("webscale", "prod", "a" * 40, max_len=32)
    assert len(name) == 32
    assert re.fullmatch(r"webscale-prod-a+-[0-9a-f]{6}", name), name


def test_cut_names_of_different_resources_stay_distinct():
    a = physical_name("webscale", "prod", "x" * 40 + "a", max_len=32)
    b = physical_name("webscale", "prod", "x" * 40 + "b", max_len=32)
    assert a != b


def test_two_stacks_never_share_a_physical_name(run_of):
    def names(stack: str) -> set[str]:
        return {
            r.outputs["name"]
            for r in run_of(stack).resources
            if r.custom
            and isinstance(r.outputs.get("name"), str)
            and r.type not in AWS_FIXED_NAMES
            and not r.type.startswith("kubernetes:")  # names inside each stack's own cluster
        }

    assert names("dev") and not names("dev") & names("prod")
