"""Pure builders of the app's Kubernetes object bodies (plain dicts, camelCase as in YAML).

The component hands these to pulumi-kubernetes; the tests read them directly. Nothing
here knows about Pulumi except that a value may be an Output (endpoints, ARNs).
"""

from __future__ import annotations

from typing import Any

from infra.components.app.args import ApiArgs, AppArgs, JobArgs, Resources, WorkerArgs, _Scaled
from infra.components.app.processes import API_PORT, TOPICS, Process, dlq

UID = 10001
"""A high UID/GID no image user or host user has (checkov CKV_K8S_40 wants >= 10000)."""
PART_OF = "webscale"
TMP_VOLUME = "tmp"
CHECKOV_SKIP = "checkov.io/skip"


def selector(process: str) -> dict[str, str]:
    """The labels a workload's selector matches: stable across releases (selectors are immutable)."""
    return {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/name": process}


def labels(process: str, release: str) -> dict[str, str]:
    return {**selector(process), "app.kubernetes.io/version": release, "app.kubernetes.io/managed-by": "pulumi"}


def skips(*reasons: tuple[str, str]) -> dict[str, str]:
    """checkov skip annotations (``checkov.io/skip1: CKV_K8S_38=reason``), one per justified exception."""
    return {f"{CHECKOV_SKIP}{i}": f"{check}={reason}" for i, (check, reason) in enumerate(reasons, start=1)}


IRSA_TOKEN_SKIP = (
    "CKV_K8S_38",
    "IRSA: the pod needs its service account token projected for STS; the account has no RBAC bindings",
)
TAG_SKIP = ("CKV_K8S_43", "the ECR repository has IMMUTABLE tags, so this tag names exactly one digest")
PULL_POLICY_SKIP = (
    "CKV_K8S_15",
    "IfNotPresent: tags are immutable (or a digest), so a cached image is the right one and restarts need no ECR",
)


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Restricted Pod Security Standard, and a read-only root filesystem (writes go to /tmp)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(spec: Resources) -> dict[str, Any]:
    return {
        "requests": {"cpu": spec.requests.cpu, "memory": spec.requests.memory},
        "limits": {"cpu": spec.limits.cpu, "memory": spec.limits.memory},
    }


def _probe(path: str, port: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def container(
    process: Process, *, image: Any, config_maps: list[str], spec: Resources, pre_stop_seconds: int = 0
) -> dict[str, Any]:
    """The one container of a process: ``python -m app <process>`` from the shared image."""
    body: dict[str, Any] = {
        "name": process.name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",  # tags are immutable: a cached image is the right image
        "command": ["python", "-m", "app"],
        "args": [process.name],
        "envFrom": [{"configMapRef": {"name": name}} for name in config_maps],
        "resources": resources(spec),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": TMP_VOLUME, "mountPath": "/tmp"}],
    }
    if process.port is not None:
        port_name = "http" if process.port == API_PORT else "metrics"
        body["ports"] = [{"name": port_name, "containerPort": process.port, "protocol": "TCP"}]
        # Startup covers imports and the first connections; liveness then only restarts a hung
        # process, readiness takes a pod out of the Service while a dependency is down.
        body["startupProbe"] = _probe("/livez", port_name, period=2, failures=30)
        body["livenessProbe"] = _probe("/livez", port_name, period=10, failures=3)
        body["readinessProbe"] = _probe("/readyz", port_name, period=5, failures=2)
    if pre_stop_seconds:
        body["lifecycle"] = {"preStop": {"sleep": {"seconds": pre_stop_seconds}}}
    return body


def pod_spec(
    process: Process,
    *,
    image: Any,
    config_maps: list[str],
    spec: Resources,
    termination_grace_seconds: int,
    pre_stop_seconds: int = 0,
    zone_spread: str | None = None,
    release: str = "",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "serviceAccountName": process.name,
        # IRSA: the EKS pod identity webhook projects the STS token next to the service
        # account token; IRSA is known to fail without the mount. No RBAC binds these accounts.
        "automountServiceAccountToken": True,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
        "containers": [
            container(process, image=image, config_maps=config_maps, spec=spec, pre_stop_seconds=pre_stop_seconds)
        ],
        "volumes": [{"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "64Mi"}}],
        "terminationGracePeriodSeconds": termination_grace_seconds,
    }
    if zone_spread:
        match = {"labelSelector": {"matchLabels": selector(process.name)}, "maxSkew": 1}
        body["topologySpreadConstraints"] = [
            {**match, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": zone_spread},
            {**match, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"},
        ]
    return body


def workload_annotations(image_is_digest: bool) -> dict[str, str]:
    """The checkov exceptions of a Deployment or Job, each with its reason (see the constants)."""
    reasons = [IRSA_TOKEN_SKIP, PULL_POLICY_SKIP]
    if not image_is_digest:
        reasons.append(TAG_SKIP)
    return skips(*reasons)


CREATES_DATABASE_LOGINS = "webscale.io/creates-database-logins"
CREATES_KAFKA_TOPICS = "webscale.io/creates-kafka-topics"
NEEDS_KAFKA_TOPICS = "webscale.io/needs-kafka-topics"


def readiness_annotations(process: Process, db_user: str) -> dict[str, str]:
    """What a workload creates for others, and the topics it needs, for the offline engine's
    readiness rule (a workload must wait for what creates the login, topics and secrets it uses).
    The database login a pod needs is read from its configuration; topics are not, so they are
    declared here, from the process table."""
    out: dict[str, str] = {}
    if process.creates_database_login:
        out[CREATES_DATABASE_LOGINS] = db_user
    if process.creates_topics:
        out[CREATES_KAFKA_TOPICS] = ",".join(name for t in TOPICS for name in (t, dlq(t)))
    needed = [*process.consumes, *process.produces]
    if needed and not process.creates_topics:
        out[NEEDS_KAFKA_TOPICS] = ",".join(needed)
    return out


def deployment_spec(process: Process, args: AppArgs, *, image: Any, config_maps: list[str]) -> dict[str, Any]:
    """A Deployment with no ``replicas``: its autoscaler (HPA or KEDA) owns the count."""
    scaled = scaling_of(process, args)
    pre_stop = args.pre_stop_seconds if process.kind == "api" else 0
    return {
        "selector": {"matchLabels": selector(process.name)},
        "revisionHistoryLimit": 5,
        # Surge first: capacity never drops below the current count during a rollout.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": labels(process.name, args.release), "annotations": {}},
            "spec": pod_spec(
                process,
                image=image,
                config_maps=config_maps,
                spec=scaled.resources,
                termination_grace_seconds=args.termination_grace_seconds,
                pre_stop_seconds=pre_stop,
                zone_spread=args.zone_spread,
            ),
        },
    }


def scaling_of(process: Process, args: AppArgs) -> _Scaled:
    if process.kind == "api":
        return args.api
    if process.kind == "relay":
        return args.relay
    if process.kind == "worker":
        return args.workers.by_name()[process.name]
    raise ValueError(f"{process.name} is a {process.kind}, not a long-running workload")


def job_spec(process: Process, args: JobArgs, *, image: Any, config_maps: list[str], release: str) -> dict[str, Any]:
    """A run-to-completion Job with the same hardened pod as the Deployments."""
    pod = pod_spec(process, image=image, config_maps=config_maps, spec=args.resources, termination_grace_seconds=30)
    pod["restartPolicy"] = "Never"
    return {
        "backoffLimit": args.backoff_limit,
        "activeDeadlineSeconds": args.active_deadline_seconds,
        "ttlSecondsAfterFinished": args.ttl_seconds_after_finished,
        "template": {
            "metadata": {"labels": labels(process.name, release)},
            "spec": pod,
        },
    }


def service_spec(process: Process) -> dict[str, Any]:
    """ClusterIP: the ALB reaches pods directly (TargetGroupBinding, target type ip)."""
    return {
        "type": "ClusterIP",
        "selector": selector(process.name),
        "ports": [{"name": "http", "port": API_PORT, "targetPort": "http", "protocol": "TCP"}],
    }


def hpa_spec(deployment: str, api: ApiArgs) -> dict[str, Any]:
    """autoscaling/v2 on CPU; quick to add pods, slow to remove them."""
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicas": api.min_replicas,
        "maxReplicas": api.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": api.target_cpu_utilization},
                },
            }
        ],
        "behavior": {
            "scaleUp": {
                "stabilizationWindowSeconds": 0,
                "selectPolicy": "Max",
                "policies": [
                    {"type": "Percent", "value": 100, "periodSeconds": 30},
                    {"type": "Pods", "value": 4, "periodSeconds": 30},
                ],
            },
            "scaleDown": {
                "stabilizationWindowSeconds": api.scale_down_stabilization_seconds,
                "selectPolicy": "Min",
                "policies": [{"type": "Percent", "value": 25, "periodSeconds": 60}],
            },
        },
    }


def pdb_spec(process: str) -> dict[str, Any]:
    """One pod at a time may be evicted (node drains, upgrades): never the whole workload."""
    return {"maxUnavailable": 1, "selector": {"matchLabels": selector(process)}}


def cpu_trigger(target: int) -> dict[str, Any]:
    return {"type": "cpu", "metricType": "Utilization", "metadata": {"value": str(target)}}


def kafka_trigger(
    *, bootstrap_servers: Any, group: str, topic: str, lag_threshold: int, region: str, auth: str
) -> dict[str, Any]:
    """KEDA's Kafka scaler on a group's lag, authenticated to MSK with IAM (the operator's role).

    KEDA 2.17+ spells MSK IAM as SASL/OAUTHBEARER with the ``aws_msk_iam`` token provider;
    ``sasl: aws_msk_iam`` is a value only the experimental ``apache-kafka`` scaler knows.
    """
    return {
        "type": "kafka",
        "metadata": {
            "bootstrapServers": bootstrap_servers,
            "consumerGroup": group,
            "topic": topic,
            "lagThreshold": str(lag_threshold),
            "offsetResetPolicy": "earliest",
            "sasl": "oauthbearer",
            "saslTokenProvider": "aws_msk_iam",
            "tls": "enable",
            "awsRegion": region,
        },
        "authenticationRef": {"name": auth},
    }


def scaled_object_spec(deployment: str, scaling: _Scaled, triggers: list[dict[str, Any]]) -> dict[str, Any]:
    """KEDA owns the replica count (through an HPA it creates); the Deployment sets none."""
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicaCount": scaling.min_replicas,
        "maxReplicaCount": scaling.max_replicas,
        "pollingInterval": 15,
        "cooldownPeriod": 300,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            }
        },
        "triggers": triggers,
    }


def worker_triggers(
    process: Process, worker: WorkerArgs, *, bootstrap_servers: Any, region: str, auth: str
) -> list[dict[str, Any]]:
    """Lag on each consumed topic of the worker's own group, plus CPU."""
    assert process.consumer_group, f"{process.name} consumes nothing"
    return [
        *(
            kafka_trigger(
                bootstrap_servers=bootstrap_servers,
                group=process.consumer_group,
                topic=topic,
                lag_threshold=worker.lag_threshold,
                region=region,
                auth=auth,
            )
            for topic in process.consumes
        ),
        cpu_trigger(worker.target_cpu_utilization),
    ]


def target_group_binding_spec(service: str, target_group_arn: Any) -> dict[str, Any]:
    """Registers the API pods' IPs in the Edge's target group.

    No ``networking`` block: the node security group rule that admits the ALB is a
    Pulumi resource (aws.vpc.SecurityGroupIngressRule), so the controller does not also
    try to add the same permission (EC2 rejects the duplicate).
    """
    return {
        "serviceRef": {"name": service, "port": API_PORT},
        "targetGroupARN": target_group_arn,
        "targetType": "ip",
    }
