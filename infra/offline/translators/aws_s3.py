"""S3 buckets and their configuration resources, emulated in moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from infra.offline.registry import Created, Ctx, translator


def _bucket(ctx: Ctx) -> str:
    return str(ctx.inputs["bucket"])


@translator("aws:s3/bucket:Bucket")
def bucket(ctx: Ctx) -> Created:
    s3 = ctx.client("s3")
    name = ctx.physical_name(key="bucket", prefix_key="bucketPrefix")
    kwargs: dict[str, object] = {"Bucket": name}
    if ctx.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    s3.create_bucket(**kwargs)
    if ctx.tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": ctx.tag_list()})
    return Created(
        name,
        {
            "bucket": name,
            "arn": f"arn:aws:s3:::{name}",
            "bucketDomainName": f"{name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
            "hostedZoneId": "Z1BKCTXD74EZPE",
            "region": ctx.region,
        },
    )


@translator("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
def public_access_block(ctx: Ctx) -> Created:
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    config = {k[0].upper() + k[1:]: bool(ctx.inputs.get(k, False)) for k in keys}
    ctx.client("s3").put_public_access_block(Bucket=_bucket(ctx), PublicAccessBlockConfiguration=config)
    return Created(_bucket(ctx))


@translator("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
def encryption(ctx: Ctx) -> Created:
    rules = []
    for rule in ctx.inputs["rules"]:
        default = rule["applyServerSideEncryptionByDefault"]
        by_default = {"SSEAlgorithm": default["sseAlgorithm"]}
        if default.get("kmsMasterKeyId"):
            by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
        rules.append(
            {"ApplyServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled"))}
        )
    ctx.client("s3").put_bucket_encryption(Bucket=_bucket(ctx), ServerSideEncryptionConfiguration={"Rules": rules})
    return Created(_bucket(ctx))


@translator("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
def ownership_controls(ctx: Ctx) -> Created:
    ownership = ctx.inputs["rule"]["objectOwnership"]
    ctx.client("s3").put_bucket_ownership_controls(
        Bucket=_bucket(ctx), OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]}
    )
    return Created(_bucket(ctx))


@translator("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
def lifecycle(ctx: Ctx) -> Created:
    rules = []
    for rule in ctx.inputs["rules"]:
        out: dict[str, object] = {"ID": rule["id"], "Status": rule["status"]}
        out["Filter"] = {"Prefix": (rule.get("filter") or {}).get("prefix", "")}
        if rule.get("expiration"):
            out["Expiration"] = {"Days": int(rule["expiration"]["days"])}
        if rule.get("abortIncompleteMultipartUpload"):
            days = int(rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"])
            out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
        rules.append(out)
    ctx.client("s3").put_bucket_lifecycle_configuration(Bucket=_bucket(ctx), LifecycleConfiguration={"Rules": rules})
    return Created(_bucket(ctx))


@translator("aws:s3/bucketPolicy:BucketPolicy")
def bucket_policy(ctx: Ctx) -> Created:
    policy = ctx.inputs["policy"]
    ctx.client("s3").put_bucket_policy(
        Bucket=_bucket(ctx), Policy=policy if isinstance(policy, str) else json.dumps(policy)
    )
    return Created(_bucket(ctx))


@translator("aws:s3/bucketAcl:BucketAcl")
def bucket_acl(ctx: Ctx) -> Created:
    """moto rejects ACLs on a bucket whose ownership is BucketOwnerEnforced, as S3 does."""
    s3 = ctx.client("s3")
    if ctx.inputs.get("acl"):
        s3.put_bucket_acl(Bucket=_bucket(ctx), ACL=ctx.inputs["acl"])
    else:
        policy = ctx.inputs["accessControlPolicy"]
        s3.put_bucket_acl(
            Bucket=_bucket(ctx),
            AccessControlPolicy={
                "Owner": {"ID": policy["owner"]["id"]},
                "Grants": [
                    {
                        "Grantee": {"ID": g["grantee"]["id"], "Type": g["grantee"]["type"]},
                        "Permission": g["permission"],
                    }
                    for g in policy["grants"]
                ],
            },
        )
    return Created(f"{_bucket(ctx)},{ctx.inputs.get('acl') or 'grants'}")


@contextmanager
def _policy_lifted(s3: Any, bucket: str) -> Iterator[None]:
    """moto checks object requests against the bucket policy but ignores statements' conditions,
    so a TLS-only ``Deny`` (``aws:SecureTransport: false``) denies every write and read; S3 itself
    would allow these, made over TLS. Lift the policy for them, then put it back."""
    try:
        policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except ClientError:
        policy = None
    if policy is not None:
        s3.delete_bucket_policy(Bucket=bucket)
    try:
        yield
    finally:
        if policy is not None:
            s3.put_bucket_policy(Bucket=bucket, Policy=policy)


@translator("aws:s3/bucketObjectv2:BucketObjectv2")
def bucket_object(ctx: Ctx) -> Created:
    """Text content only (``content``), which is what the stack uploads; the object is really
    written, with its content type and cache-control, so tests can read it back from moto."""
    i = ctx.inputs
    if "content" not in i:
        raise ValueError(f"{ctx.name}: the offline engine uploads objects given as `content` (text) only")
    kwargs: dict[str, object] = {"Bucket": _bucket(ctx), "Key": i["key"], "Body": str(i["content"]).encode()}
    for key, api in (("contentType", "ContentType"), ("cacheControl", "CacheControl")):
        if i.get(key):
            kwargs[api] = i[key]
    s3 = ctx.client("s3")
    with _policy_lifted(s3, _bucket(ctx)):
        s3.put_object(**kwargs)
        stored = s3.head_object(Bucket=_bucket(ctx), Key=i["key"])  # what S3 will serve, read back
    return Created(
        f"{_bucket(ctx)}/{i['key']}",
        {
            "etag": str(stored["ETag"]).strip('"'),
            "key": i["key"],
            "contentType": stored.get("ContentType", ""),
            "cacheControl": stored.get("CacheControl", ""),
        },
    )
