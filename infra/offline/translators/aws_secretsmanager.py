"""Secrets Manager secrets and their versions, in moto."""

from __future__ import annotations

from infra.offline.registry import Created, Ctx, translator


@translator("aws:secretsmanager/secret:Secret")
def secret(ctx: Ctx) -> Created:
    name = ctx.physical_name(max_len=512)
    kwargs: dict[str, object] = {"Name": name, "Description": ctx.inputs.get("description", ""), "Tags": ctx.tag_list()}
    if ctx.inputs.get("kmsKeyId"):
        kwargs["KmsKeyId"] = ctx.inputs["kmsKeyId"]
    s = ctx.client("secretsmanager").create_secret(**kwargs)
    return Created(s["ARN"], {"arn": s["ARN"], "name": name})


@translator("aws:secretsmanager/secretVersion:SecretVersion")
def secret_version(ctx: Ctx) -> Created:
    v = ctx.client("secretsmanager").put_secret_value(
        SecretId=ctx.inputs["secretId"], SecretString=ctx.inputs["secretString"]
    )
    return Created(f"{v['ARN']}|{v['VersionId']}", {"arn": v["ARN"], "versionId": v["VersionId"]})
