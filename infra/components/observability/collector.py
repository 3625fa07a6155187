"""The collector: the EKS ``amazon-cloudwatch-observability`` add-on, with its own IRSA role.

It runs the CloudWatch agent and Fluent Bit on every node: Container Insights (node, pod and
container metrics, with enhanced observability, which the pods-pending alarm reads), container
logs, and the app's Prometheus metrics, which the agent scrapes from the app's pods and writes
to :data:`~infra.components.observability.alarms.APP_NAMESPACE` as embedded-metric logs.

The agent's Prometheus support ships counters, gauges and summaries; it drops histograms
(docs: "Prometheus metric type conversion by the CloudWatch agent"), which is why the app's
completion time is a summary. The add-on's log groups are created here, encrypted and with a
retention, before the agent would create them unencrypted and kept forever.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.components.app.processes import DEPLOYMENTS, Process
from infra.components.app.workloads import PART_OF
from infra.components.eks import EksCluster
from infra.components.eks.policies import managed_policy_arn
from infra.components.kms import encryption_key
from infra.components.observability.alarms import APP_NAMESPACE
from infra.naming import stack_name

ADDON = "amazon-cloudwatch-observability"
NAMESPACE = "amazon-cloudwatch"
SERVICE_ACCOUNT = "cloudwatch-agent"
"""The add-on's agent runs as this service account; its IRSA role trusts exactly it."""
AGENT_POLICY = "CloudWatchAgentServerPolicy"
LOG_GROUPS = ("application", "dataplane", "host", "performance", "prometheus")
"""``/aws/containerinsights/<cluster>/<kind>``: where the add-on's agent and Fluent Bit write."""
SCRAPE_JOB = "webscale-app"
SCRAPE_INTERVAL = "30s"

SHIPPED: dict[tuple[str, ...], tuple[str, ...]] = {
    ("ClusterName",): (
        "orders_placed_total",
        "order_completion_seconds_sum",
        "order_completion_seconds_count",
        "cache_hits_total",
        "cache_misses_total",
    ),
    ("ClusterName", "outcome"): ("events_processed_total",),
}
"""App metrics sent to CloudWatch, by the dimensions they carry. Only these: CloudWatch bills
per metric and dimension set, so per-pod or per-route series stay in Prometheus."""


def scrape_config(app_namespace: str, processes: Sequence[Process] = DEPLOYMENTS) -> dict[str, Any]:
    """Prometheus scrape config: every app pod's /metrics, on its process's port (8000 or 9100)."""
    ports = sorted({str(p.port) for p in processes if p.port})
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": "10s"},
        "scrape_configs": [
            {
                "job_name": SCRAPE_JOB,
                "metrics_path": "/metrics",
                "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [app_namespace]}}],
                "relabel_configs": [
                    {
                        "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_part_of"],
                        "regex": PART_OF,
                        "action": "keep",
                    },
                    {
                        "source_labels": ["__meta_kubernetes_pod_container_port_number"],
                        "regex": f"({'|'.join(ports)})",
                        "action": "keep",
                    },
                    {
                        "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
                        "target_label": "process",
                    },
                    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
                ],
            }
        ],
    }


def agent_config(cluster_name: str) -> dict[str, Any]:
    """The CloudWatch agent's configuration: enhanced Container Insights, and the app's metrics."""
    declarations = [
        {
            "source_labels": ["job"],
            "label_matcher": f"^{SCRAPE_JOB}$",
            "dimensions": [list(dimensions)],
            "metric_selectors": [f"^{name}$" for name in names],
        }
        for dimensions, names in SHIPPED.items()
    ]
    return {
        "logs": {
            "metrics_collected": {
                "kubernetes": {"cluster_name": cluster_name, "enhanced_container_insights": True},
                "prometheus": {
                    "cluster_name": cluster_name,
                    "log_group_name": f"/aws/containerinsights/{cluster_name}/prometheus",
                    "emf_processor": {
                        "metric_declaration_dedup": True,
                        "metric_namespace": APP_NAMESPACE,
                        "metric_declaration": declarations,
                    },
                },
            },
        }
    }


def addon_configuration(cluster_name: str, app_namespace: str | None) -> dict[str, Any]:
    """The add-on's ``configuration_values``: the agent's config, its scrape config, container logs."""
    agent: dict[str, Any] = {"config": agent_config(cluster_name)}
    if app_namespace is not None:
        agent["prometheus"] = {"config": scrape_config(app_namespace)}
    else:
        del agent["config"]["logs"]["metrics_collected"]["prometheus"]
    return {"agent": agent, "containerLogs": {"enabled": True}}


def scrape_network_policy(processes: Sequence[Process] = DEPLOYMENTS) -> dict[str, Any]:
    """The app namespace denies all ingress by default: let the agent reach /metrics, nothing else."""
    ports = sorted({p.port for p in processes if p.port})
    return {
        "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}}}],
                "ports": [{"protocol": "TCP", "port": port} for port in ports],
            }
        ],
    }


def allow_scraping(
    name: str, *, cluster: EksCluster, app_namespace: str, after: Sequence[pulumi.Resource], parent: pulumi.Resource
) -> None:
    k8s.networking.v1.NetworkPolicy(
        f"{name}-allow-metrics-scrape",
        metadata={"name": "allow-metrics-scrape", "namespace": app_namespace},
        spec=cast(Any, scrape_network_policy()),  # camelCase, as kubectl reads it
        opts=pulumi.ResourceOptions(parent=parent, provider=cluster.provider, depends_on=list(after)),
    )


def collector(
    name: str,
    *,
    cluster: EksCluster,
    addon_version: str,
    log_retention_days: int,
    app_namespace: str | None,
    parent: pulumi.Resource,
) -> aws.eks.Addon:
    """The add-on, its IRSA role (CloudWatchAgentServerPolicy) and its encrypted log groups."""
    invoke = pulumi.InvokeOptions(parent=parent)
    partition = aws.get_partition(opts=invoke).partition
    key = encryption_key(
        f"{name}-container-logs",
        description=f"Encrypts the Container Insights logs of {cluster.cluster_name}",
        alias=stack_name("container-logs"),
        parent=parent,
        for_logs=True,
    )
    groups = [
        aws.cloudwatch.LogGroup(
            f"{name}-{kind}",
            name=f"/aws/containerinsights/{cluster.cluster_name}/{kind}",
            retention_in_days=log_retention_days,
            kms_key_id=key.arn,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for kind in LOG_GROUPS
    ]
    role = cluster.service_account_role(
        f"{name}-cloudwatch-agent",
        namespace=NAMESPACE,
        service_account=SERVICE_ACCOUNT,
        managed_policy_arns=[managed_policy_arn(partition, AGENT_POLICY)],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return aws.eks.Addon(
        f"{name}-{ADDON}",
        cluster_name=cluster.cluster_name,
        addon_name=ADDON,
        addon_version=addon_version,
        service_account_role_arn=role.arn,
        configuration_values=json.dumps(addon_configuration(cluster.cluster_name, app_namespace)),
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        # Its agents are DaemonSet pods: they need nodes, and the log groups must exist first.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[cluster, *groups]),
    )
