"""The node disks' key names the Auto Scaling service-linked role, on new accounts and old ones."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from infra.components.eks.autoscaling_role import ROLE_NAME, SERVICE, stack_owns_role
from infra.offline.engine import run_stack
from infra.offline.mocks import OfflineError
from infra.offline.model import StackRun

PROGRAM = Path(__file__).parent / "programs" / "kms_service_linked_role.py"
SLR_TYPE = "aws:iam/serviceLinkedRole:ServiceLinkedRole"
OWNER = {"project": "webscale", "environment": "dev", "managed-by": "pulumi"}


def disk_key(run: StackRun):
    return next(r for r in run.of_type("aws:kms/key:Key") if r.name.endswith("node-disks"))


def principals(key) -> dict[str, object]:
    return {s["Sid"]: s["Principal"] for s in json.loads(key["policy"])["Statement"]}


def test_a_new_account_gets_the_role_before_the_key_that_names_it(run_of):
    dev = run_of("dev")
    role = dev.one(SLR_TYPE)
    assert role["awsServiceName"] == SERVICE and role.emulation == "moto"
    key = disk_key(dev)
    assert role.urn in key.dependencies, "the key is written before the role it names exists"
    assert principals(key)["ServiceLinkedRolesUseKey"] == {"AWS": [role["arn"]]}
    assert principals(key)["ServiceLinkedRolesGrantToAwsResources"] == {"AWS": [role["arn"]]}


def _account_with_the_role() -> None:
    boto3.client("iam").create_service_linked_role(AWSServiceName=SERVICE)


def test_an_account_that_has_the_role_uses_it_and_creates_none():
    dev = run_stack("dev", account=_account_with_the_role)
    assert dev.of_type(SLR_TYPE) == []
    [arn] = principals(disk_key(dev))["ServiceLinkedRolesUseKey"]["AWS"]  # type: ignore[index]
    assert arn.endswith(f":role/aws-service-role/{SERVICE}/{ROLE_NAME}")


@pytest.mark.parametrize(
    ("exists", "tags", "owns"),
    [
        (False, {}, True),  # a new account: this stack creates it
        (True, {}, False),  # made outside any stack (console, an earlier Auto Scaling group)
        (True, {**OWNER, "environment": "prod"}, False),  # another stack made it
        (True, {**OWNER, "owner": "x"}, True),  # this stack made it: keep declaring it, no deletion planned
    ],
)
def test_the_stack_declares_the_role_only_when_it_makes_it(exists: bool, tags: dict, owns: bool):
    assert stack_owns_role(exists, tags, OWNER) is owns


def test_a_key_naming_the_role_through_a_condition_fails_the_run():
    with pytest.raises(OfflineError) as caught:
        run_stack("dev", {"offline:mistake": "condition"}, program=PROGRAM)
    message = str(caught.value)
    assert "aws:kms/key:Key 'node-disks' was rejected" in message
    assert "names a service-linked role only through aws:PrincipalArn on the account root" in message
    assert "name the role's ARN as the statement's Principal" in message


def test_a_key_naming_a_role_that_does_not_exist_yet_fails_the_run():
    with pytest.raises(OfflineError) as caught:
        run_stack("dev", {"offline:mistake": "unordered"}, program=PROGRAM)
    message = str(caught.value)
    assert (
        f"principals that do not exist yet: arn:aws:iam::123456789012:role/aws-service-role/{SERVICE}/{ROLE_NAME}"
        in (message)
    )
    assert "make the key depend on it" in message


def test_a_key_created_after_its_role_passes():
    run = run_stack("dev", {"offline:mistake": "none"}, program=PROGRAM)
    assert run.one("aws:kms/key:Key").emulation == "moto"
