"""The EC2 Auto Scaling service-linked role, which must exist before the node disks' key names it.

EKS managed node groups launch their instances through Auto Scaling groups, and those use
``AWSServiceRoleForAutoScaling``. For Auto Scaling to create volumes encrypted with a
customer managed key, the key policy must name that role's ARN as principal (a statement
for the account root only delegates to IAM policies, and the role's AWS-managed policy
grants nothing on customer managed keys). KMS rejects a principal that does not exist, and
a new account has no such role until its first Auto Scaling group: so the stack creates it
when the account lacks it, and the key waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

SERVICE = "autoscaling.amazonaws.com"
ROLE_NAME = "AWSServiceRoleForAutoScaling"
PATH = f"/aws-service-role/{SERVICE}/"


def role_arn(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role{PATH}{ROLE_NAME}"


def stack_owns_role(exists: bool, role_tags: Mapping[str, str], owner_tags: Mapping[str, str]) -> bool:
    """Whether this stack declares the role: when the account lacks it, or when this stack made it.

    An account that already had the role (another stack, the console, an earlier Auto
    Scaling group) keeps it outside this stack. A role this stack created carries the
    stack's default tags, so the next ``up`` still declares it instead of planning its deletion.
    """
    if not exists:
        return True
    return all(role_tags.get(k) == v for k, v in owner_tags.items())


def autoscaling_service_linked_role(
    name: str, *, partition: str, account_id: str, owner_tags: Mapping[str, str], parent: pulumi.Resource
) -> tuple[str, list[pulumi.Resource]]:
    """The role's ARN, and the resources a key naming it must wait for (the role, when created here).

    The role is kept on ``pulumi destroy`` (``retain_on_delete``): other stacks and Auto
    Scaling groups in the account use the same one, and IAM refuses to delete it while any does.
    """
    invoke = pulumi.InvokeOptions(parent=parent)
    found = aws.iam.get_roles(path_prefix=PATH, name_regex=f"^{ROLE_NAME}$", opts=invoke)
    exists = bool(found.arns)
    tags = dict(aws.iam.get_role(name=ROLE_NAME, opts=invoke).tags or {}) if exists else {}
    arn = role_arn(partition, account_id)
    if not stack_owns_role(exists, tags, owner_tags):
        return arn, []
    role = aws.iam.ServiceLinkedRole(
        f"{name}-autoscaling-slr",
        aws_service_name=SERVICE,
        description="EC2 Auto Scaling (EKS managed node groups); created by the first stack in this account",
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
    )
    return arn, [role]
