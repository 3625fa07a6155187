"""Customer-managed KMS keys, with rotation on and a key policy per use."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws


def key_policy(
    account_id: str,
    partition: str,
    *,
    service_principals: tuple[str, ...] = (),
    logs_region: str | None = None,
    service_linked_role_arns: tuple[str, ...] = (),
    extra_statements: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """The account administers the key; named AWS services may use it.

    ``extra_statements`` are appended as given, for a service whose documented statement fits
    none of the shapes here (CloudWatch alarms notifying an encrypted SNS topic).

    ``logs_region`` lets CloudWatch Logs in that region encrypt log groups of this
    account, scoped by the encryption context AWS sends for log groups.
    ``service_linked_role_arns`` (the Auto Scaling role's ARN) may use the key and grant it
    to the AWS resources they create: EC2 Auto Scaling needs this to launch instances whose
    EBS volumes the key encrypts.
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
    if service_linked_role_arns:
        # Named as principals, as AWS's key policy for EBS encryption with Auto Scaling does:
        # an account-root principal only delegates to IAM policies, and a service-linked
        # role's AWS-managed policy grants nothing on customer managed keys. KMS rejects a
        # principal that does not exist yet, so the key must wait for the roles.
        roles = {"AWS": sorted(service_linked_role_arns)}
        statements += [
            {
                "Sid": "ServiceLinkedRolesUseKey",
                "Effect": "Allow",
                "Principal": roles,
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
            },
            {
                "Sid": "ServiceLinkedRolesGrantToAwsResources",
                "Effect": "Allow",
                "Principal": roles,
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
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
    service_linked_role_arns: tuple[str, ...] = (),
    extra_statements: tuple[dict[str, Any], ...] = (),
    depends_on: Sequence[pulumi.Resource] = (),
    protect: bool = False,
    provider: pulumi.ProviderResource | None = None,
) -> aws.kms.Key:
    """A symmetric key with yearly rotation and an alias, as a child of ``parent``
    (in ``provider``'s region when given, else the parent's).

    ``depends_on``: what must exist before the policy is written (the principals it names).
    """
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
                service_linked_role_arns=service_linked_role_arns,
                extra_statements=extra_statements,
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, provider=provider, depends_on=list(depends_on)),
    )
    aws.kms.Alias(
        f"{name}-alias", name=f"alias/{alias}", target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=key)
    )
    return key
