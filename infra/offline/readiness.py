"""What a workload needs before its pods can start, and whether the run provides it in time.

pulumi-kubernetes waits for a Job to complete and a Deployment to become ready; a pod that
cannot start makes that wait time out, long after ``pulumi up`` created everything else.
These rules catch it at the Job or Deployment, naming it and the fix:

- its image must be pullable: an image in an ECR repository this run creates must have been
  pushed (a new repository is empty, and the pods would sit in ImagePullBackOff).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from infra.offline.registry import Ctx

ECR_REPOSITORY = "aws:ecr/repository:Repository"
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
_ECR_IMAGE = re.compile(
    r"(?P<repo>\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[^:@]+)(?:(?::(?P<tag>[^@]+))|(?:@(?P<digest>sha256:[0-9a-f]{64})))"
)


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] == "Pod":
        return obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        return (((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec")
    if obj["kind"] in POD_TEMPLATE_KINDS:
        return ((obj.get("spec") or {}).get("template") or {}).get("spec")
    return None


def containers(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers"):
        yield from pod.get(key) or []


def unpushed_images(ctx: Ctx, pod: dict[str, Any]) -> list[str]:
    """Images of repositories created in this run that hold no such tag or digest."""
    created = {r["repositoryUrl"]: r["name"] for r in ctx.find(ECR_REPOSITORY)}
    missing = []
    for c in containers(pod):
        match = _ECR_IMAGE.fullmatch(str(c.get("image") or ""))
        if not match or match["repo"] not in created:
            continue
        image_id = {"imageDigest": match["digest"]} if match["digest"] else {"imageTag": match["tag"]}
        try:
            ctx.client("ecr").describe_images(repositoryName=created[match["repo"]], imageIds=[image_id])
        except ClientError:
            missing.append(f"container {c.get('name')}: {c['image']}")
    return missing


def check(ctx: Ctx, obj: dict[str, Any], label: str) -> None:
    """Raise ValueError naming the workload and the fix when its pods could not start."""
    pod = pod_spec(obj)
    if pod is None:
        return
    missing = unpushed_images(ctx, pod)
    if missing:
        raise ValueError(
            f"{label} pulls from an ECR repository that this run creates and nothing has pushed to "
            f"({'; '.join(missing)}): its pods would sit in ImagePullBackOff until the deploy times out. "
            "Fix: create the repository in a deploy that runs no workload from it (leave webscale:app.image "
            "unset), push the image, then name it"
        )
