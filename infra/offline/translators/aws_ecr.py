"""ECR repositories and lifecycle policies, emulated in moto."""

from __future__ import annotations

import json

from infra.offline.registry import Created, Ctx, translator


@translator("aws:ecr/repository:Repository")
def repository(ctx: Ctx) -> Created:
    scanning = ctx.inputs.get("imageScanningConfiguration") or {}
    encryption = (ctx.inputs.get("encryptionConfigurations") or [{}])[0]
    kwargs = {
        "repositoryName": ctx.physical_name(max_len=256),
        "imageTagMutability": ctx.inputs.get("imageTagMutability", "MUTABLE"),
        "imageScanningConfiguration": {"scanOnPush": bool(scanning.get("scanOnPush", False))},
        "tags": ctx.tag_list(),
    }
    if encryption.get("encryptionType"):
        kwargs["encryptionConfiguration"] = {
            "encryptionType": encryption["encryptionType"],
            **({"kmsKey": encryption["kmsKey"]} if encryption.get("kmsKey") else {}),
        }
    r = ctx.client("ecr").create_repository(**kwargs)["repository"]
    return Created(
        r["repositoryName"],
        {
            "name": r["repositoryName"],
            "arn": r["repositoryArn"],
            "registryId": r["registryId"],
            "repositoryUrl": r["repositoryUri"],
        },
    )


@translator("aws:ecr/lifecyclePolicy:LifecyclePolicy")
def lifecycle_policy(ctx: Ctx) -> Created:
    policy = ctx.inputs["policy"]
    text = policy if isinstance(policy, str) else json.dumps(policy)
    r = ctx.client("ecr").put_lifecycle_policy(repositoryName=ctx.inputs["repository"], lifecyclePolicyText=text)
    return Created(r["repositoryName"], {"registryId": r["registryId"]})
