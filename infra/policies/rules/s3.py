"""S3 rules: every bucket blocks public access and has a default-encryption configuration."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from infra.policies.rules._rule import Control, Problems, get, of_type, resource_rule, stack_rule

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE_CONFIGS = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BLOCK_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

S3_8 = Control("S3.8", "S3 general purpose buckets should block public access")
S3_4 = Control(
    "S3.4",
    "S3 general purpose buckets should have server-side encryption enabled",
)


def public_access_block_problems(props: Mapping[str, Any]) -> Problems:
    off = [s for s in BLOCK_SETTINGS if not get(props, s, default=False)]  # provider defaults: false
    return [f"public access settings {off} are not on"] if off else []


def _names(bucket: PolicyResource) -> set[Any]:
    return {get(bucket.props, "id"), get(bucket.props, "bucket")} - {None}


def buckets_without_block(resources: Sequence[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    blocked = {get(b.props, "bucket") for b in of_type(resources, PUBLIC_ACCESS_BLOCK)}
    for bucket in of_type(resources, *BUCKETS):
        if not _names(bucket) & blocked:
            yield bucket, "the bucket has no aws.s3.BucketPublicAccessBlock"


def buckets_without_encryption(resources: Sequence[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    configured = {get(c.props, "bucket") for c in of_type(resources, *SSE_CONFIGS)}
    for bucket in of_type(resources, *BUCKETS):
        inline = get(bucket.props, "serverSideEncryptionConfiguration", "rule")
        if not inline and not _names(bucket) & configured:
            yield bucket, "the bucket has no server-side encryption configuration"


POLICIES = [
    resource_rule(
        "s3-8-block-public-access",
        S3_8,
        [PUBLIC_ACCESS_BLOCK],
        public_access_block_problems,
        "set block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets to True on the "
        "aws.s3.BucketPublicAccessBlock",
    ),
    stack_rule(
        "s3-8-bucket-has-public-access-block",
        S3_8,
        buckets_without_block,
        "add an aws.s3.BucketPublicAccessBlock(bucket=bucket.id, <all four settings True>) for the bucket",
        why="Stack check: every bucket has its own public access block (the account-level block is not in the stack).",
    ),
    stack_rule(
        "s3-4-bucket-encryption-configured",
        S3_4,
        buckets_without_encryption,
        "add an aws.s3.BucketServerSideEncryptionConfiguration(bucket=bucket.id, ...) for the bucket "
        '(SSE-KMS with the stack key; "AES256" where the writer requires it, e.g. ALB access logs)',
        why=(
            "AWS retired S3.4 once S3 began encrypting new objects by default (2023); the baseline keeps it so each "
            "bucket states its encryption (and key) in code."
        ),
    ),
]
