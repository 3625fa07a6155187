"""Kubernetes workload rules, on the pod templates the program declares.

What these rules see: Kubernetes objects the program registers one by one (``kubernetes:apps/v1:
Deployment`` ...). They cannot see inside a Helm release (``kubernetes:helm.sh/v3:Release``) or a
rendered YAML bundle: those are rendered by the provider at deploy time, not in the program.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from infra.policies.rules._rule import BASELINE, PSS, Control, Problems, get, items, of_type, resource_rule, stack_rule

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
POD = "kubernetes:core/v1:Pod"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"

WORKLOADS = (DEPLOYMENT, STATEFUL_SET, DAEMON_SET, JOB, CRON_JOB, POD)
LONG_RUNNING = (DEPLOYMENT, STATEFUL_SET)
SCALABLE = {DEPLOYMENT: "Deployment", STATEFUL_SET: "StatefulSet"}

AUTOSCALING_EXEMPT = "webscale.io/autoscaling-exempt"
"""Annotation on a Deployment/StatefulSet that must not scale (a singleton); its value is the reason."""

RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip
NON_VOLUME_SOURCE_KEYS = {"name"}


# -- pod templates ---------------------------------------------------------------------------------
def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    if resource_type == POD:
        return get(props, "spec", default={})
    if resource_type == CRON_JOB:
        return get(props, "spec", "jobTemplate", "spec", "template", "spec", default={})
    return get(props, "spec", "template", "spec", default={})


def containers(spec: Mapping[str, Any], *, init: bool = True) -> list[Any]:
    kinds = ("initContainers", "containers", "ephemeralContainers") if init else ("containers",)
    return [c for kind in kinds for c in items(get(spec, kind))]


def _name(container: Any) -> str:
    return f"container {get(container, 'name', default='?')!r}"


# -- K8S.1 Pod Security Standards, restricted profile ----------------------------------------------
def pod_security_problems(spec: Mapping[str, Any]) -> Problems:
    problems: Problems = []
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if get(spec, flag, default=False):
            problems.append(f"the pod sets {flag}=true")
    for volume in items(get(spec, "volumes")):
        kinds = set(volume) - NON_VOLUME_SOURCE_KEYS
        bad = sorted(kinds - RESTRICTED_VOLUME_TYPES)
        if bad:
            problems.append(
                f"volume {get(volume, 'name')!r} is of type {bad[0]} (restricted allows {sorted(RESTRICTED_VOLUME_TYPES)})"
            )
    pod_ctx = get(spec, "securityContext", default={})
    pod_non_root = get(pod_ctx, "runAsNonRoot", default=False)
    pod_seccomp = get(pod_ctx, "seccompProfile", "type")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        problems.append(f"the pod's seccompProfile is {pod_seccomp!r}")
    if get(pod_ctx, "runAsUser") in (0, 0.0):
        problems.append("the pod runs as user 0")
    for c in containers(spec):
        problems += _container_security_problems(c, pod_non_root, pod_seccomp)
    return problems


def _container_security_problems(c: Any, pod_non_root: bool, pod_seccomp: Any) -> Problems:
    ctx = get(c, "securityContext", default={})
    problems = []
    if get(ctx, "privileged", default=False):
        problems.append("is privileged")
    if get(ctx, "allowPrivilegeEscalation") is not False:
        problems.append("does not set allowPrivilegeEscalation=false")
    if not get(ctx, "runAsNonRoot", default=pod_non_root):
        problems.append("does not set runAsNonRoot=true (here or on the pod)")
    if get(ctx, "runAsUser") in (0, 0.0):
        problems.append("runs as user 0")
    seccomp = get(ctx, "seccompProfile", "type", default=pod_seccomp)
    if seccomp not in ("RuntimeDefault", "Localhost"):
        problems.append(f"has seccompProfile {seccomp!r}, not RuntimeDefault or Localhost")
    if "ALL" not in list(get(ctx, "capabilities", "drop", default=[])):
        problems.append("does not drop ALL capabilities")
    added = [cap for cap in get(ctx, "capabilities", "add", default=[]) if cap != "NET_BIND_SERVICE"]
    if added:
        problems.append(f"adds capabilities {added}")
    if any(get(p, "hostPort", default=0) for p in items(get(c, "ports"))):
        problems.append("binds a hostPort")
    return [f"{_name(c)} {p}" for p in problems]


# -- K8S.2 requests and limits -----------------------------------------------------------------------
REQUIRED_RESOURCES = (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))


def resource_problems(spec: Mapping[str, Any]) -> Problems:
    problems = []
    for c in containers(spec):
        missing = [f"{kind}.{res}" for kind, res in REQUIRED_RESOURCES if get(c, "resources", kind, res) is None]
        if missing:
            problems.append(f"{_name(c)} sets no {', '.join(missing)}")
    return problems


# -- K8S.3 probes ------------------------------------------------------------------------------------
def probe_problems(spec: Mapping[str, Any]) -> Problems:
    problems = []
    for c in containers(spec, init=False):
        missing = [p for p in ("livenessProbe", "readinessProbe") if get(c, p) is None]
        if missing:
            problems.append(f"{_name(c)} has no {' or '.join(missing)}")
    return problems


# -- K8S.4 pinned images -----------------------------------------------------------------------------
def image_problem(image: str) -> str | None:
    """None when ``image`` is pinned by digest or by a tag other than ``latest``."""
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (it means :latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image!r} uses the :latest tag"
    return None


def image_problems(spec: Mapping[str, Any]) -> Problems:
    return [f"{_name(c)} {p}" for c in containers(spec) if (p := image_problem(str(get(c, "image", default=""))))]


# -- K8S.5 no literal secrets in env -----------------------------------------------------------------
SENSITIVE_NAME = re.compile(
    r"PASSW(OR)?D|PWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|(^|_)KEY$", re.I
)
NOT_A_SECRET_SUFFIX = re.compile(r"_(FILE|PATH|DIR|ARN|NAME|ID|TTL|SECONDS|HEADER)$", re.I)
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def env_secret_problem(name: str, value: Any) -> str | None:
    """None unless a literal env value is (or looks like) a credential."""
    if value in (None, ""):
        return None
    if CREDENTIALS_IN_URL.search(str(value)):
        return f"env {name} holds a URL with an embedded password"
    if SENSITIVE_NAME.search(name) and not NOT_A_SECRET_SUFFIX.search(name):
        return f"env {name} has a literal value"
    return None


def env_problems(spec: Mapping[str, Any]) -> Problems:
    return [
        f"{_name(c)} {p}"
        for c in containers(spec)
        for e in items(get(c, "env"))
        if (p := env_secret_problem(str(get(e, "name", default="")), get(e, "value")))
    ]


# -- K8S.6 autoscaling (stack) -----------------------------------------------------------------------
def _namespace(props: Mapping[str, Any]) -> str:
    return str(get(props, "metadata", "namespace", default="default"))


def unscaled_workloads(resources: Sequence[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    targets = set()
    for hpa in of_type(resources, HPA):
        ref = get(hpa.props, "spec", "scaleTargetRef", default={})
        targets.add((_namespace(hpa.props), get(ref, "kind"), get(ref, "name")))
    for scaled in of_type(resources, SCALED_OBJECT):
        ref = get(scaled.props, "spec", "scaleTargetRef", default={})
        targets.add((_namespace(scaled.props), get(ref, "kind", default="Deployment"), get(ref, "name")))
    for workload in of_type(resources, *SCALABLE):
        if get(workload.props, "metadata", "annotations", AUTOSCALING_EXEMPT):
            continue
        key = (_namespace(workload.props), SCALABLE[workload.resource_type], get(workload.props, "metadata", "name"))
        if key not in targets:
            yield workload, f"no HorizontalPodAutoscaler or KEDA ScaledObject targets {key[1]} {key[0]}/{key[2]}"


def _per_workload(check, types=WORKLOADS):  # type: ignore[no-untyped-def]
    return {t: (lambda props, t=t: check(pod_spec(t, props))) for t in types}


def _pss(id_: str, title: str) -> Control:
    return Control(id_, title, framework=PSS)


POLICIES = [
    resource_rule(
        "k8s-1-pod-security-restricted",
        _pss("K8S.1", "Pods should meet the Pod Security Standards restricted profile"),
        WORKLOADS,
        _per_workload(pod_security_problems),
        "in the pod template set securityContext runAsNonRoot=true and seccompProfile.type=RuntimeDefault, and on "
        "every container allowPrivilegeEscalation=false and capabilities.drop=[ALL]; remove host namespaces, "
        "hostPath volumes, hostPorts and privileged",
        why="Covers runAsNonRoot, allowPrivilegeEscalation, capabilities, seccomp, privileged, host namespaces, "
        "hostPath/volume types and hostPorts, on init and app containers.",
    ),
    resource_rule(
        "k8s-2-resource-requests-and-limits",
        Control("K8S.2", "Containers should declare CPU and memory requests and a memory limit", framework=BASELINE),
        WORKLOADS,
        _per_workload(resource_problems),
        "set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every container",
        why="CPU limits are deliberately not required (they throttle latency-sensitive pods; the CPU request already "
        "sizes scheduling and HPA utilisation), as in Kyverno's require-requests-limits.",
    ),
    resource_rule(
        "k8s-3-liveness-and-readiness-probes",
        Control("K8S.3", "Long-running containers should declare liveness and readiness probes", framework=BASELINE),
        LONG_RUNNING,
        _per_workload(probe_problems, LONG_RUNNING),
        "set livenessProbe and readinessProbe on every container of the Deployment/StatefulSet",
        why="Deployments and StatefulSets only: Jobs and CronJobs run to completion.",
    ),
    resource_rule(
        "k8s-4-pinned-images",
        Control("K8S.4", "Container images should be pinned by tag or digest, never latest", framework=BASELINE),
        WORKLOADS,
        _per_workload(image_problems),
        "reference images as repo:<version> or repo@sha256:<digest>",
    ),
    resource_rule(
        "k8s-5-no-literal-secrets-in-env",
        Control("K8S.5", "Containers should not carry credentials as literal environment values", framework=BASELINE),
        WORKLOADS,
        _per_workload(env_problems),
        "drop the credential (the stack uses IAM authentication for RDS, MSK and ElastiCache) or read it with "
        "valueFrom.secretKeyRef",
        why="Flags literal values of env vars named like passwords/secrets/tokens/keys and URLs with embedded "
        "passwords; valueFrom references are allowed.",
    ),
    stack_rule(
        "k8s-6-workloads-autoscaled",
        Control("K8S.6", "Every scalable workload should have an HPA or a KEDA ScaledObject", framework=BASELINE),
        unscaled_workloads,
        "add a kubernetes.autoscaling.v2.HorizontalPodAutoscaler or a KEDA ScaledObject whose scaleTargetRef names the "
        f"workload, or annotate a deliberate singleton with {AUTOSCALING_EXEMPT}: <reason>",
    ),
]
