"""KMS keys and aliases, and CloudWatch log groups, emulated in moto."""

from __future__ import annotations

from infra.offline.registry import Created, Ctx, translator


@translator("aws:kms/key:Key")
def key(ctx: Ctx) -> Created:
    kms = ctx.client("kms")
    kwargs: dict[str, object] = {
        "Description": ctx.inputs.get("description", ""),
        "KeyUsage": ctx.inputs.get("keyUsage", "ENCRYPT_DECRYPT"),
        "KeySpec": ctx.inputs.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT"),
        "Tags": [{"TagKey": k, "TagValue": v} for k, v in sorted(ctx.tags.items())],
    }
    if ctx.inputs.get("policy"):
        kwargs["Policy"] = ctx.inputs["policy"]
    meta = kms.create_key(**kwargs)["KeyMetadata"]
    if ctx.inputs.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    rotation = kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"]
    return Created(meta["KeyId"], {"arn": meta["Arn"], "keyId": meta["KeyId"], "enableKeyRotation": rotation})


@translator("aws:kms/alias:Alias")
def alias(ctx: Ctx) -> Created:
    kms = ctx.client("kms")
    name = ctx.inputs["name"]
    kms.create_alias(AliasName=name, TargetKeyId=ctx.inputs["targetKeyId"])
    target = kms.describe_key(KeyId=ctx.inputs["targetKeyId"])["KeyMetadata"]["Arn"]
    return Created(name, {"arn": ctx.arn("kms", name), "targetKeyArn": target})


@translator("aws:cloudwatch/logGroup:LogGroup")
def log_group(ctx: Ctx) -> Created:
    logs = ctx.client("logs")
    name = ctx.physical_name(max_len=512)
    kwargs: dict[str, object] = {"logGroupName": name, "tags": ctx.tags}
    if ctx.inputs.get("kmsKeyId"):
        kwargs["kmsKeyId"] = ctx.inputs["kmsKeyId"]
    logs.create_log_group(**kwargs)
    if ctx.inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(ctx.inputs["retentionInDays"]))
    return Created(name, {"arn": ctx.arn("logs", f"log-group:{name}"), "name": name})
