"""Pieces the data-tier components share: a KMS key, a client-only security group, encrypted log groups."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra.components.kms import encryption_key
from infra.components.network import Network
from infra.naming import stack_name


def client_security_group(
    name: str,
    *,
    network: Network,
    port: int,
    service: str,
    allowed_security_group_ids: Sequence[pulumi.Input[str]],
    tag_name: str,
    parent: pulumi.Resource,
) -> aws.ec2.SecurityGroup:
    """A group admitting ``port`` only from the given client groups: one rule per group, no CIDRs.

    With no client groups it has no ingress rule at all, so nothing can connect: the safe
    state until the callers' groups are wired in. No egress rule either: data stores answer
    on established connections and never open their own.
    """
    sg = aws.ec2.SecurityGroup(
        name,
        vpc_id=network.vpc_id,
        description=f"{service}: port {port} from the application's security groups only",
        tags={"Name": tag_name},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for i, client in enumerate(allowed_security_group_ids):
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-client-{i}",
            security_group_id=sg.id,
            description=f"{service} from client group {i}",
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=client,
            opts=pulumi.ResourceOptions(parent=sg),
        )
    return sg


def encrypted_log_group(
    name: str, *, log_group_name: str, retention_days: int, key: aws.kms.Key, parent: pulumi.Resource
) -> aws.cloudwatch.LogGroup:
    """A log group with a retention and the component's KMS key (the key must allow CloudWatch Logs)."""
    return aws.cloudwatch.LogGroup(
        name,
        name=log_group_name,
        retention_in_days=retention_days,
        kms_key_id=key.arn,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def store_foundation(
    name: str,
    *,
    short_name: str,
    encrypts: str,
    network: Network,
    port: int,
    service: str,
    allowed_security_group_ids: Sequence[pulumi.Input[str]],
    protect: bool,
    parent: pulumi.Resource,
) -> tuple[aws.kms.Key, aws.ec2.SecurityGroup]:
    """What every data store starts from: its own KMS key (usable by CloudWatch Logs, protected
    with the store) and its client-only security group, both named ``<stack>-<short_name>``."""
    key = encryption_key(
        f"{name}-key",
        description=f"Encrypts {encrypts} of {stack_name()}",
        alias=stack_name(short_name),
        parent=parent,
        for_logs=True,
        protect=protect,
    )
    sg = client_security_group(
        f"{name}-sg",
        network=network,
        port=port,
        service=service,
        allowed_security_group_ids=allowed_security_group_ids,
        tag_name=stack_name(short_name),
        parent=parent,
    )
    return key, sg
