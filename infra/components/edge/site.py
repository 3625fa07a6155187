"""The storefront's private bucket, read only by CloudFront through Origin Access Control.

The Pulumi program uploads the built assets itself (``app.web.site.build``), so the page a
stack serves is always the one in the commit it was deployed from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from app.web.site import INDEX, Asset
from infra.components.edge.buckets import attach_policy, private_bucket
from infra.components.edge.policies import site_bucket_policy
from infra.naming import stack_name

YEAR_SECONDS = 31_536_000
DAY_SECONDS = 86_400
PAGE_DEFAULT_TTL_SECONDS = 60
"""``index.html`` names the release's assets; a new release shows within about a minute."""
PAGE_MAX_TTL_SECONDS = 300


def bucket(name: str, *, parent: pulumi.Resource) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
    """Private (every public access setting blocked, no ACLs), SSE-S3.

    SSE-S3 rather than SSE-KMS: with a customer key, CloudFront's service principal would also
    need kms:Decrypt on it, for public content that gains nothing from a key of its own.
    ``force_destroy``: its content is built from the repository, so nothing is lost with it.
    """
    private = private_bucket(name, parent=parent, force_destroy=True, ownership="BucketOwnerEnforced")
    return private.bucket, private.block


def origin_access_control(name: str, *, parent: pulumi.Resource) -> aws.cloudfront.OriginAccessControl:
    """CloudFront signs every request to the bucket (SigV4), so the bucket can stay private."""
    return aws.cloudfront.OriginAccessControl(
        name,
        name=stack_name(name, max_len=64),
        description="CloudFront reads the storefront bucket",
        origin_access_control_origin_type="s3",
        signing_behavior="always",
        signing_protocol="sigv4",
        opts=pulumi.ResourceOptions(parent=parent),
    )


def upload(name: str, site: aws.s3.Bucket, assets: Sequence[Asset]) -> list[aws.s3.BucketObjectv2]:
    """One object per asset, with its content type and cache-control.

    ``index.html`` is written after the release's assets, so it never names one not yet there.
    Hashed assets are retained when a release replaces them: a browser or edge holding the
    previous ``index.html`` for its last minute still finds the files it names.
    """
    hashed = [
        aws.s3.BucketObjectv2(
            f"{name}-{asset.path}",
            bucket=site.id,
            key=asset.path,
            content=asset.body.decode("utf-8"),
            content_type=asset.content_type,
            cache_control=asset.cache_control,
            opts=pulumi.ResourceOptions(parent=site, retain_on_delete=True),
        )
        for asset in assets
        if asset.path != INDEX
    ]
    (index,) = (asset for asset in assets if asset.path == INDEX)
    page = aws.s3.BucketObjectv2(
        f"{name}-{INDEX}",
        bucket=site.id,
        key=INDEX,
        content=index.body.decode("utf-8"),
        content_type=index.content_type,
        cache_control=index.cache_control,
        opts=pulumi.ResourceOptions(parent=site, depends_on=hashed),
    )
    return [*hashed, page]


def grant_distribution(
    name: str, site: aws.s3.Bucket, block: aws.s3.BucketPublicAccessBlock, dist: aws.cloudfront.Distribution
) -> aws.s3.BucketPolicy:
    """The bucket policy: TLS only, GetObject for this one distribution."""
    policy = pulumi.Output.all(site.arn, dist.arn).apply(lambda arns: json.dumps(site_bucket_policy(*arns)))
    return attach_policy(name, site, block, policy)


def _cache_key() -> Any:
    """Nothing of the viewer's in the key (the files are the same for everyone); compressed copies cached."""
    return {
        "cookies_config": {"cookie_behavior": "none"},
        "headers_config": {"header_behavior": "none"},
        "query_strings_config": {"query_string_behavior": "none"},
        "enable_accept_encoding_gzip": True,
        "enable_accept_encoding_brotli": True,
    }


def immutable_cache_policy(name: str, *, parent: pulumi.Resource) -> aws.cloudfront.CachePolicy:
    """Hashed assets: kept a year at the edge (at least a day, whatever the object says)."""
    return aws.cloudfront.CachePolicy(
        name,
        name=stack_name("static-immutable"),
        comment="Content-hashed storefront assets: a year",
        min_ttl=DAY_SECONDS,
        default_ttl=YEAR_SECONDS,
        max_ttl=YEAR_SECONDS,
        parameters_in_cache_key_and_forwarded_to_origin=_cache_key(),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def page_cache_policy(name: str, *, parent: pulumi.Resource) -> aws.cloudfront.CachePolicy:
    """``index.html``: a minute by default, five at most, never past what the object allows."""
    return aws.cloudfront.CachePolicy(
        name,
        name=stack_name("storefront-page"),
        comment="The storefront page: short, so a release shows quickly",
        min_ttl=0,
        default_ttl=PAGE_DEFAULT_TTL_SECONDS,
        max_ttl=PAGE_MAX_TTL_SECONDS,
        parameters_in_cache_key_and_forwarded_to_origin=_cache_key(),
        opts=pulumi.ResourceOptions(parent=parent),
    )
