"""ECR repositories and lifecycle policies, emulated in moto; the images an earlier deploy left.

A repository the run creates is empty, as in AWS. An offline run that stands for a later
deploy says which images CI has pushed since the first deploy created the repository, in
the stack config ``offline:pushedImages`` (``{repository name: [tag or sha256 digest]}``);
they are pushed into moto's repository as it is created. The Pulumi CLI never reads the
``offline:`` namespace.
"""

from __future__ import annotations

import json

from infra.offline.registry import Created, Ctx, invoke, translator

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def push(ecr: object, repository: str, image: str) -> None:
    """Stand in for ``docker push``: a manifest under the tag, or under the given digest."""
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": {}, "layers": [], "ref": image})
    kwargs = {"repositoryName": repository, "imageManifest": manifest, "imageManifestMediaType": MANIFEST_TYPE}
    if image.startswith("sha256:"):
        kwargs["imageDigest"] = image
    else:
        kwargs["imageTag"] = image
    ecr.put_image(**kwargs)  # type: ignore[attr-defined]


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
    ecr = ctx.client("ecr")
    r = ecr.create_repository(**kwargs)["repository"]
    pushed = (ctx.options.get("pushedImages") or {}).get(r["repositoryName"]) or []
    for image in pushed:
        push(ecr, r["repositoryName"], image)
    return Created(
        r["repositoryName"],
        {
            "name": r["repositoryName"],
            "arn": r["repositoryArn"],
            "registryId": r["registryId"],
            "repositoryUrl": r["repositoryUri"],
        },
        note=f"holds {', '.join(pushed)} (offline:pushedImages: pushed after the first deploy)" if pushed else "",
    )


@translator("aws:ecr/lifecyclePolicy:LifecyclePolicy")
def lifecycle_policy(ctx: Ctx) -> Created:
    policy = ctx.inputs["policy"]
    text = policy if isinstance(policy, str) else json.dumps(policy)
    r = ctx.client("ecr").put_lifecycle_policy(repositoryName=ctx.inputs["repository"], lifecyclePolicyText=text)
    return Created(r["repositoryName"], {"registryId": r["registryId"]})


@invoke("aws:ecr/getImage:getImage")
def image(args: dict[str, object], region: str) -> dict[str, object]:
    """One image by tag or digest; fails, as the provider does, when it was never pushed."""
    import boto3

    image_id = {"imageDigest": args["imageDigest"]} if args.get("imageDigest") else {"imageTag": args.get("imageTag")}
    ecr = boto3.client("ecr", region_name=region)
    found = ecr.describe_images(repositoryName=args["repositoryName"], imageIds=[image_id])["imageDetails"]
    detail = found[0]
    return {
        "id": detail["imageDigest"],
        "repositoryName": args["repositoryName"],
        "imageDigest": detail["imageDigest"],
        "imageTags": detail.get("imageTags") or [],
        "imagePushedAt": int(detail["imagePushedAt"].timestamp()),
        "imageSizeInBytes": detail.get("imageSizeInBytes", 0),
        "imageUri": f"{detail['registryId']}.dkr.ecr.{region}.amazonaws.com/{args['repositoryName']}@{detail['imageDigest']}",
    }
