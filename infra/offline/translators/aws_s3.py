"""S3 buckets and their configuration resources, emulated in moto."""

from __future__ import annotations

import json

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
