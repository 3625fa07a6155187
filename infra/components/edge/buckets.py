"""Private, encrypted S3 buckets: the hardening every bucket of the edge shares (the storefront's
too), and the expiring log buckets of the ALB and CloudFront."""

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
class PrivateBucket:
    """A bucket hardened as every bucket of the edge is, and the children a writer or a policy waits for."""

    bucket: aws.s3.Bucket
    block: aws.s3.BucketPublicAccessBlock
    """Every public access setting blocked; a bucket policy depends on it, so it is never
    evaluated against an open bucket."""
    controls: aws.s3.BucketOwnershipControls


def private_bucket(
    name: str,
    *,
    parent: pulumi.Resource,
    force_destroy: bool,
    ownership: Literal["BucketOwnerEnforced", "BucketOwnerPreferred"],
) -> PrivateBucket:
    """A bucket with every public access setting blocked, SSE-S3 (bucket keys on) and ``ownership``.

    Its children are named ``name`` too and parented to it. The TLS-only statement belongs in
    the policy the caller attaches with :func:`attach_policy` (``policies.tls_only_statement``).
    """
    bucket = aws.s3.Bucket(
        name,
        bucket_prefix=f"{stack_name(name, max_len=36)}-",
        force_destroy=force_destroy,
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
    return PrivateBucket(bucket, block, controls)


def attach_policy(
    name: str, bucket: aws.s3.Bucket, block: aws.s3.BucketPublicAccessBlock, document: pulumi.Input[str]
) -> aws.s3.BucketPolicy:
    """The bucket's policy (a JSON document), after its public access block."""
    return aws.s3.BucketPolicy(
        name, bucket=bucket.id, policy=document, opts=pulumi.ResourceOptions(parent=bucket, depends_on=[block])
    )


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
    private = private_bucket(name, parent=parent, force_destroy=False, ownership=ownership)
    bucket, block, controls = private.bucket, private.block, private.controls
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
        opts=pulumi.ResourceOptions(parent=bucket),
    )
    bucket_policy = attach_policy(name, bucket, block, bucket.arn.apply(lambda arn: json.dumps(policy(arn))))
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
