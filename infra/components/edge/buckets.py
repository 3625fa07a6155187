"""Private, encrypted, expiring S3 buckets for the ALB's and CloudFront's logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from infra.components.edge.policies import CLOUDFRONT_LOG_DELIVERY_CANONICAL_ID
from infra.naming import stack_name


@dataclass(frozen=True)
class LogBucket:
    """A log bucket and the children that decide who may write to it."""

    bucket: aws.s3.Bucket
    ready: list[pulumi.Resource]
    """Public access block, ownership controls, policy and (with ACLs) the ACL. A log writer
    depends on these, not on the bucket: ``depends_on=[bucket]`` waits for the bucket alone,
    and a writer that starts before the grants exist has its first (test) write refused."""


def log_bucket(
    name: str,
    *,
    parent: pulumi.Resource,
    expiry_days: int,
    policy: Callable[[str], dict[str, Any]],
    ownership: Literal["BucketOwnerEnforced", "BucketOwnerPreferred"],
) -> LogBucket:
    """A log bucket: public access blocked, SSE-S3, expiry after ``expiry_days``, ``policy(arn)``.

    SSE-S3 rather than SSE-KMS: ALB access logs support only SSE-S3, and CloudFront's log
    delivery would need a grant on the key for its own account; S3-managed keys keep both simple.
    ``BucketOwnerPreferred`` keeps ACLs enabled, which CloudFront standard logging still writes
    through; the ACL then grants only the bucket owner and the ``awslogsdelivery`` account.
    """
    bucket = aws.s3.Bucket(
        name,
        bucket_prefix=f"{stack_name(name, max_len=36)}-",
        force_destroy=False,
        tags={"Name": stack_name(name)},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    child = pulumi.ResourceOptions(parent=bucket)
    block = aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}, "bucket_key_enabled": True}],
        opts=child,
    )
    controls = aws.s3.BucketOwnershipControls(name, bucket=bucket.id, rule={"object_ownership": ownership}, opts=child)
    aws.s3.BucketLifecycleConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            {
                "id": "expire-logs",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "expiration": {"days": expiry_days},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }
        ],
        opts=child,
    )
    # After the public access block, so the policy is never evaluated against an open bucket.
    bucket_policy = aws.s3.BucketPolicy(
        name,
        bucket=bucket.id,
        policy=bucket.arn.apply(lambda arn: json.dumps(policy(arn))),
        opts=pulumi.ResourceOptions(parent=bucket, depends_on=[block]),
    )
    ready: list[pulumi.Resource] = [block, controls, bucket_policy]
    if ownership == "BucketOwnerPreferred":
        owner = aws.s3.get_canonical_user_id(opts=pulumi.InvokeOptions(parent=bucket)).id
        acl = aws.s3.BucketAcl(
            name,
            bucket=bucket.id,
            access_control_policy={
                "owner": {"id": owner},
                "grants": [
                    {"grantee": {"id": owner, "type": "CanonicalUser"}, "permission": "FULL_CONTROL"},
                    {
                        "grantee": {"id": CLOUDFRONT_LOG_DELIVERY_CANONICAL_ID, "type": "CanonicalUser"},
                        "permission": "FULL_CONTROL",
                    },
                ],
            },
            opts=pulumi.ResourceOptions(parent=bucket, depends_on=[controls, block]),
        )
        ready.append(acl)
    return LogBucket(bucket, ready)
