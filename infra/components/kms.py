"""Customer-managed KMS keys, with rotation on and a key policy per use."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws


def key_policy(
    account_id: str,
    partition: str,
    *,
    service_principals: tuple[str, ...] = (),
    logs_region: str | None = None,
    service_linked_roles: tuple[str, ...] = (),
    extra_statements: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """The account administers the key; named AWS services may use it.

    ``extra_statements`` are appended as given, for a service whose documented statement fits
    none of the shapes here (CloudWatch alarms notifying an encrypted SNS topic).

    ``logs_region`` lets CloudWatch Logs in that region encrypt log groups of this
    account, scoped by the encryption context AWS sends for log groups.
    ``service_linked_roles`` (``autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling``)
    may use the key and grant it to the AWS resources they create: EC2 Auto Scaling
    needs this to launch instances whose EBS volumes the key encrypts.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if service_principals:
        statements.append(
            {
                "Sid": "ServicesUseKey",
                "Effect": "Allow",
                "Principal": {"Service": sorted(service_principals)},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        )
    if logs_region:
        statements.append(
            {
                "Sid": "CloudWatchLogsUseKey",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{logs_region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{logs_region}:{account_id}:log-group:*"
                    }
                },
            }
        )
    if service_linked_roles:
        roles = sorted(f"arn:{partition}:iam::{account_id}:role/aws-service-role/{r}" for r in service_linked_roles)
        # Named through a condition, not as principals: KMS rejects a policy whose principal
        # does not exist yet, and a new account has no Auto Scaling service-linked role until
        # its first Auto Scaling group (the node group, created after this key).
        account = {"AWS": f"arn:{partition}:iam::{account_id}:root"}
        is_role = {"ArnEquals": {"aws:PrincipalArn": roles}}
        statements += [
            {
                "Sid": "ServiceLinkedRolesUseKey",
                "Effect": "Allow",
                "Principal": account,
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": is_role,
            },
            {
                "Sid": "ServiceLinkedRolesGrantToAwsResources",
                "Effect": "Allow",
                "Principal": account,
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {**is_role, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
    statements += list(extra_statements)
    return {"Version": "2012-10-17", "Statement": statements}


def encryption_key(
    name: str,
    *,
    description: str,
    alias: str,
    parent: pulumi.Resource,
    service_principals: tuple[str, ...] = (),
    for_logs: bool = False,
    service_linked_roles: tuple[str, ...] = (),
    extra_statements: tuple[dict[str, Any], ...] = (),
    protect: bool = False,
    provider: pulumi.ProviderResource | None = None,
) -> aws.kms.Key:
    """A symmetric key with yearly rotation and an alias, as a child of ``parent``
    (in ``provider``'s region when given, else the parent's)."""
    opts = pulumi.InvokeOptions(parent=parent, provider=provider)
    identity = aws.get_caller_identity(opts=opts)
    partition = aws.get_partition(opts=opts).partition
    region = aws.get_region(opts=opts).region
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=json.dumps(
            key_policy(
                identity.account_id,
                partition,
                service_principals=service_principals,
                logs_region=region if for_logs else None,
                service_linked_roles=service_linked_roles,
                extra_statements=extra_statements,
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, provider=provider),
    )
    aws.kms.Alias(
        f"{name}-alias", name=f"alias/{alias}", target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=key)
    )
    return key
