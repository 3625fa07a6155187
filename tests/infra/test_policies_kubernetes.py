"""Kubernetes workload rules: a compliant Deployment passes, each deliberate flaw is caught."""

from __future__ import annotations

from typing import Any

import pytest

from infra.policies.pack import POLICIES
from infra.policies.rules import kubernetes as k8s
from tests.infra.policy_cases import DELETE, merged, stack_violations, violations

CONTAINER: dict[str, Any] = {
    "name": "api",
    "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-api:1.4.2",
    "env": [
        {"name": "DB_HOST", "value": "db.internal"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "IDEMPOTENCY_KEY_TTL", "value": "86400"},
    ],
    "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
    "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
    "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
}
POD_SPEC: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [CONTAINER],
    "volumes": [{"name": "tmp", "emptyDir": {}}],
}
DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "orders-api", "namespace": "orders"},
    "spec": {"template": {"spec": POD_SPEC}},
}


def with_pod(pod_changes: dict[str, Any]) -> dict[str, Any]:
    return {**DEPLOYMENT, "spec": {"template": {"spec": merged(POD_SPEC, pod_changes)}}}


def with_container(changes: dict[str, Any]) -> dict[str, Any]:
    return with_pod({"containers": [merged(CONTAINER, changes)]})


# (policy, manifest, words the message must contain)
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("k8s-1-pod-security-restricted", with_pod({"securityContext": {"runAsNonRoot": DELETE}}), "runAsNonRoot"),
    ("k8s-1-pod-security-restricted", with_pod({"hostNetwork": True}), "hostNetwork"),
    ("k8s-1-pod-security-restricted", with_pod({"hostPID": True}), "hostPID"),
    ("k8s-1-pod-security-restricted", with_pod({"hostIPC": True}), "hostIPC"),
    ("k8s-1-pod-security-restricted", with_pod({"volumes": [{"name": "docker", "hostPath": {"path": "/var/run"}}]}), "hostPath"),
    ("k8s-1-pod-security-restricted", with_pod({"securityContext": {"seccompProfile": DELETE}}), "seccompProfile None"),
    ("k8s-1-pod-security-restricted", with_pod({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}), "'Unconfined'"),
    ("k8s-1-pod-security-restricted", with_container({"securityContext": {"allowPrivilegeEscalation": DELETE}}), "allowPrivilegeEscalation"),
    ("k8s-1-pod-security-restricted", with_container({"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}), "drop ALL"),
    ("k8s-1-pod-security-restricted", with_container({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}), "SYS_ADMIN"),
    ("k8s-1-pod-security-restricted", with_container({"securityContext": {"privileged": True}}), "privileged"),
    ("k8s-1-pod-security-restricted", with_container({"securityContext": {"runAsUser": 0}}), "user 0"),
    ("k8s-1-pod-security-restricted", with_container({"ports": [{"containerPort": 80, "hostPort": 80}]}), "hostPort"),
    ("k8s-2-resource-requests-and-limits", with_container({"resources": DELETE}), "requests.cpu, requests.memory, limits.memory"),
    ("k8s-2-resource-requests-and-limits", with_container({"resources": {"limits": DELETE}}), "limits.memory"),
    ("k8s-3-liveness-and-readiness-probes", with_container({"livenessProbe": DELETE}), "livenessProbe"),
    ("k8s-3-liveness-and-readiness-probes", with_container({"readinessProbe": DELETE}), "readinessProbe"),
    ("k8s-4-pinned-images", with_container({"image": "orders-api"}), "no tag"),
    ("k8s-4-pinned-images", with_container({"image": "registry:5000/orders-api:latest"}), ":latest"),
    ("k8s-5-no-literal-secrets-in-env", with_container({"env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}), "DB_PASSWORD"),
    ("k8s-5-no-literal-secrets-in-env", with_container({"env": [{"name": "DATABASE_URL", "value": "postgres://app:pw@db/orders"}]}), "embedded password"),
]  # fmt: skip


def test_every_kubernetes_policy_has_a_bad_case():
    covered = {c[0] for c in BAD} | {"k8s-6-workloads-autoscaled"}  # the stack rule's cases are below
    names = [p.name for p in POLICIES if p.name.startswith("k8s-")]
    assert names and sorted(set(names) - covered) == []


@pytest.mark.parametrize(
    "policy", [p.name for p in POLICIES if p.name.startswith("k8s-") and p.name != "k8s-6-workloads-autoscaled"]
)
def test_compliant_deployment_passes(policy: str):
    assert violations(policy, k8s.DEPLOYMENT, DEPLOYMENT) == []


@pytest.mark.parametrize(("policy", "manifest", "expected"), BAD, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD)])
def test_policy_catches_bad_workload(policy: str, manifest: dict[str, Any], expected: str):
    found = violations(policy, k8s.DEPLOYMENT, manifest, name="orders-api")
    assert found and all("kubernetes:apps/v1:Deployment 'orders-api'" in m for m in found), found
    assert any(expected in m for m in found), found


def test_init_containers_are_checked_too():
    init = merged(CONTAINER, {"name": "migrate", "image": "migrate:latest", "securityContext": {"privileged": True}})
    manifest = with_pod({"initContainers": [init]})
    assert any(
        "'migrate'" in m and "privileged" in m
        for m in violations("k8s-1-pod-security-restricted", k8s.DEPLOYMENT, manifest)
    )
    assert any("'migrate'" in m for m in violations("k8s-4-pinned-images", k8s.DEPLOYMENT, manifest))


def test_cronjob_pod_template_is_found():
    job_spec = merged(POD_SPEC, {"hostNetwork": True})
    cron = {"spec": {"jobTemplate": {"spec": {"template": {"spec": job_spec}}}}}
    assert any("hostNetwork" in m for m in violations("k8s-1-pod-security-restricted", k8s.CRON_JOB, cron))


def test_jobs_need_no_probes():
    job = {"spec": {"template": {"spec": merged(POD_SPEC, {"containers": [merged(CONTAINER, {"livenessProbe": DELETE, "readinessProbe": DELETE})]})}}}  # fmt: skip
    assert violations("k8s-3-liveness-and-readiness-probes", k8s.JOB, job) == []


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("nginx", False),
        ("nginx:latest", False),
        ("localhost:5000/nginx", False),
        ("nginx:1.27.3", True),
        ("localhost:5000/nginx:1.27", True),
        ("nginx@sha256:" + "a" * 64, True),
        ("ghcr.io/org/app:latest@sha256:" + "b" * 64, True),  # the digest pins it whatever the tag says
    ],
)
def test_image_pinning(image: str, pinned: bool):
    assert (k8s.image_problem(image) is None) is pinned


@pytest.mark.parametrize(
    ("name", "value", "flagged"),
    [
        ("DB_PASSWORD", "s3cret", True),
        ("REDIS_AUTH_TOKEN", "abc", True),
        ("STRIPE_API_KEY", "sk_live_x", True),
        ("AWS_SECRET_ACCESS_KEY", "x", True),
        ("JWT_KEY", "x", True),
        ("KAFKA_BROKERS", "b-1:9098,b-2:9098", False),
        ("IDEMPOTENCY_KEY_TTL", "86400", False),
        ("DB_PASSWORD_FILE", "/var/run/secrets/db", False),
        ("DB_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:db", False),
        ("DATABASE_URL", "postgresql://app@db:5432/orders", False),
        ("DATABASE_URL", "postgresql://app:pw@db:5432/orders", True),
        ("DB_PASSWORD", None, False),  # valueFrom
    ],
)
def test_env_secret_detection(name: str, value: str | None, flagged: bool):
    assert (k8s.env_secret_problem(name, value) is not None) is flagged


# -- the autoscaling stack rule -----------------------------------------------------------------------
def deployment(name: str, namespace: str = "orders", **annotations: str) -> tuple[str, str, dict[str, Any]]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        meta["annotations"] = annotations
    return (k8s.DEPLOYMENT, name, {"metadata": meta})


def hpa(target: str, namespace: str = "orders", kind: str = "Deployment") -> tuple[str, str, dict[str, Any]]:
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target}}
    return (k8s.HPA, f"{target}-hpa", {"metadata": {"name": target, "namespace": namespace}, "spec": spec})


def scaled_object(target: str, namespace: str = "orders") -> tuple[str, str, dict[str, Any]]:
    return (k8s.SCALED_OBJECT, f"{target}-so", {"metadata": {"namespace": namespace}, "spec": {"scaleTargetRef": {"name": target}}})  # fmt: skip


def test_deployment_without_autoscaler_is_caught():
    found = stack_violations("k8s-6-workloads-autoscaled", [deployment("orders-api")])
    assert len(found) == 1 and "Deployment orders/orders-api" in found[0] and "[K8S.6]" in found[0]


def test_statefulset_without_autoscaler_is_caught():
    found = stack_violations(
        "k8s-6-workloads-autoscaled", [(k8s.STATEFUL_SET, "s", {"metadata": {"name": "s"}}), hpa("s")]
    )
    assert len(found) == 1 and "StatefulSet default/s" in found[0]


@pytest.mark.parametrize(
    "resources",
    [
        [deployment("orders-api"), hpa("orders-api")],
        [deployment("orders-worker"), scaled_object("orders-worker")],
        [deployment("outbox-relay", **{k8s.AUTOSCALING_EXEMPT: "single leader reads the outbox"})],
    ],
    ids=["hpa", "keda", "exempt-singleton"],
)
def test_autoscaled_or_exempt_workloads_pass(resources: list):
    assert stack_violations("k8s-6-workloads-autoscaled", resources) == []


@pytest.mark.parametrize(
    "resources",
    [
        [deployment("orders-api"), hpa("orders-api", namespace="other")],
        [deployment("orders-api"), hpa("orders-api", kind="StatefulSet")],
        [deployment("orders-api"), scaled_object("orders-worker")],
        [deployment("outbox-relay", **{k8s.AUTOSCALING_EXEMPT: ""})],
    ],
    ids=["other-namespace", "other-kind", "other-name", "exempt-without-reason"],
)
def test_autoscaler_must_target_the_workload(resources: list):
    assert len(stack_violations("k8s-6-workloads-autoscaled", resources)) == 1
