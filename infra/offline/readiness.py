"""What a workload needs before its pods can start, and whether the run provides it in time.

pulumi-kubernetes waits for a Job to complete and a Deployment to become ready; a pod that
cannot start makes that wait time out, long after ``pulumi up`` created everything else.
These rules catch it at the Job or Deployment, naming it and the fix:

- its image must be pullable: an image in an ECR repository this run creates must have been
  pushed (a new repository is empty, and the pods would sit in ImagePullBackOff);
- the database login its configuration names (``postgresql://<user>@host/db`` with no
  password: an IAM login) must be created by something it waits for: the RDS instance (its
  master user) or a workload annotated ``webscale.io/creates-database-logins: <user>``;
- the Kafka topics it declares (``webscale.io/needs-kafka-topics``) must be created by a
  workload it waits for (``webscale.io/creates-kafka-topics``): MSK auto-creates none;
- the secrets it reads must exist first: a Kubernetes Secret it references, or a Secrets
  Manager secret whose ARN its configuration holds (the secret, or the RDS instance that
  manages it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from infra.offline.registry import Ctx

ECR_REPOSITORY = "aws:ecr/repository:Repository"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
K8S_SECRET = "kubernetes:core/v1:Secret"
RDS_INSTANCE = "aws:rds/instance:Instance"
SM_SECRET = "aws:secretsmanager/secret:Secret"
CREATES_LOGINS = "webscale.io/creates-database-logins"
CREATES_TOPICS = "webscale.io/creates-kafka-topics"
NEEDS_TOPICS = "webscale.io/needs-kafka-topics"
_POSTGRES_URL = re.compile(r"postgres(?:ql)?(?:\+\w+)?://(?P<user>[^:@/\s]+)@[^\s,]+")
_SECRET_ARN = re.compile(r"arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:[^\s,\"]+")
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


def _listed(annotations: dict[str, Any], key: str) -> set[str]:
    return {v.strip() for v in str(annotations.get(key) or "").split(",") if v.strip()}


def _annotations(obj: dict[str, Any]) -> dict[str, Any]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def configuration(ctx: Ctx, obj: dict[str, Any], pod: dict[str, Any]) -> list[str]:
    """Every environment value the pod's containers get: literal, and from the ConfigMaps it names."""
    namespace = (obj.get("metadata") or {}).get("namespace")
    maps = {
        (m.get("metadata") or {}).get("name"): m.get("data") or {}
        for m in ctx.find(CONFIG_MAP)
        if (m.get("metadata") or {}).get("namespace") == namespace
    }
    values = []
    for c in containers(pod):
        values += [str(e["value"]) for e in c.get("env") or [] if "value" in e]
        for source in c.get("envFrom") or []:
            name = (source.get("configMapRef") or {}).get("name")
            values += [str(v) for v in maps.get(name, {}).values()]
    return values


def secret_names(pod: dict[str, Any]) -> set[str]:
    names = {v["secret"]["secretName"] for v in pod.get("volumes") or [] if (v.get("secret") or {}).get("secretName")}
    for c in containers(pod):
        names |= {(e.get("secretRef") or {}).get("name") for e in c.get("envFrom") or [] if e.get("secretRef")}
        names |= {
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in c.get("env") or []
            if ((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
        }
    return {n for n in names if n}


def unready_needs(ctx: Ctx, obj: dict[str, Any], pod: dict[str, Any]) -> list[str]:
    """What the workload needs that nothing it waits for creates."""
    values = configuration(ctx, obj, pod)
    own = _annotations(obj)
    upstream = list(ctx.upstream.values())
    k8s_upstream = [u for u in upstream if u.type.startswith("kubernetes:")]
    logins = {str(u.outputs.get("username")) for u in upstream if u.type == RDS_INSTANCE}
    for u in k8s_upstream:
        logins |= _listed(_annotations(dict(u.outputs)), CREATES_LOGINS)
    problems = []
    for user in sorted({m["user"] for v in values for m in _POSTGRES_URL.finditer(v)}):
        if user not in logins and user not in _listed(own, CREATES_LOGINS):
            problems.append(
                f"database login {user!r}: nothing it waits for creates it (an RDS instance's master user, or a "
                f"workload annotated {CREATES_LOGINS}: {user})"
            )
    topics: set[str] = set()
    for u in k8s_upstream:
        topics |= _listed(_annotations(dict(u.outputs)), CREATES_TOPICS)
    missing_topics = sorted(_listed(own, NEEDS_TOPICS) - topics)
    if missing_topics:
        problems.append(
            f"Kafka topics {', '.join(missing_topics)}: nothing it waits for creates them (a workload annotated "
            f"{CREATES_TOPICS})"
        )
    namespace = (obj.get("metadata") or {}).get("namespace")
    secrets = {
        (u.outputs.get("metadata") or {}).get("name")
        for u in k8s_upstream
        if u.type == K8S_SECRET and (u.outputs.get("metadata") or {}).get("namespace") == namespace
    }
    problems += [f"Secret {name!r}: it does not wait for it" for name in sorted(secret_names(pod) - secrets)]
    arns = {str(u.outputs.get("arn")) for u in upstream if u.type == SM_SECRET}
    for u in upstream:
        if u.type == RDS_INSTANCE:
            arns |= {str(s.get("secretArn")) for s in u.outputs.get("masterUserSecrets") or []}
    for arn in sorted({m for v in values for m in _SECRET_ARN.findall(v)} - arns):
        problems.append(f"secret {arn}: it does not wait for the secret or the RDS instance that manages it")
    return problems


def check(ctx: Ctx, obj: dict[str, Any], label: str) -> None:
    """Raise ValueError naming the workload and the fix when its pods could not start."""
    pod = pod_spec(obj)
    if pod is None:
        return
    needs = unready_needs(ctx, obj, pod)
    if needs:
        raise ValueError(
            f"{label} would start before what it needs exists: {'; '.join(needs)}. Fix: depends_on what creates "
            "each (pulumi-kubernetes then waits for that Job to complete)"
        )
    missing = unpushed_images(ctx, pod)
    if missing:
        raise ValueError(
            f"{label} pulls from an ECR repository that this run creates and nothing has pushed to "
            f"({'; '.join(missing)}): its pods would sit in ImagePullBackOff until the deploy times out. "
            "Fix: create the repository in a deploy that runs no workload from it (leave webscale:app.image "
            "unset), push the image, then name it"
        )
