"""The metrics the stack watches, as plain data, and the alarms built from them.

Every alarm and every dashboard graph comes from the :class:`Metric` and :class:`Expression`
values made here, so a renamed dimension or metric changes both or neither. Builders are pure
functions of the thresholds and the names of what they watch (dimension values may be Pulumi
outputs, such as an ALB's ARN suffix); the component turns the specs into resources.

Each alarm names its runbook entry (``docs/operations.md#<runbook>``); a test checks every
runbook an alarm names exists there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from infra.components.observability.args import (
    CacheThresholds,
    DatabaseThresholds,
    EdgeThresholds,
    EksThresholds,
    KafkaThresholds,
)

MissingData = Literal["breaching", "notBreaching", "ignore", "missing"]
Comparison = Literal[
    "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
]
GIB = 2**30

APP_NAMESPACE = "Webscale/App"
"""Where the collector writes the app's Prometheus metrics (see ``collector.py``)."""
CLOUDFRONT_REGION = "us-east-1"
"""CloudFront and CLOUDFRONT-scope WAF metrics exist only in us-east-1."""


@dataclass(frozen=True)
class Metric:
    """One CloudWatch metric with one statistic."""

    namespace: str
    name: str
    dimensions: Mapping[str, Any]
    """Dimension name -> value (a string or a Pulumi output of one)."""
    stat: str = "Average"
    period: int = 60
    region: str | None = None
    """Set when the metric lives outside the stack's region (CloudFront, WAF)."""
    label: str = ""


@dataclass(frozen=True)
class Expression:
    """Metric math over named metrics (ids are lowercase, as CloudWatch requires)."""

    expression: str
    metrics: Mapping[str, Metric]
    label: str

    @property
    def region(self) -> str | None:
        return next(iter(self.metrics.values())).region


Signal = Metric | Expression


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch alarm: what it watches, when it fires, and where its runbook is."""

    key: str
    """Unique in the stack, part of the alarm's name (``rds-cpu-primary``)."""
    runbook: str
    """The heading anchor of its entry in docs/operations.md (``rds-cpu``)."""
    tier: str
    summary: str
    signal: Signal
    comparison: Comparison
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: MissingData
    watches: str = ""
    """The physical name of the resource it watches (DB identifier, cluster name...)."""


# -- RDS ---------------------------------------------------------------------------------------------
_MEMORY_GIB_BY_SIZE = {"micro": 1, "small": 2, "medium": 4}
_VCPUS_BY_SIZE = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48, "16xlarge": 64}
_GIB_PER_VCPU = {"m": 4, "r": 8, "x": 16}


def instance_memory_gib(instance_class: str) -> float:
    """Memory of an RDS class (``db.r7g.large`` -> 16). Burstable classes by size; m/r/x by vCPU.

    ValueError for a class this table does not know: set the thresholds' absolute override instead.
    """
    _, family, size = instance_class.split(".")
    if family.startswith("t"):
        burstable = {**_MEMORY_GIB_BY_SIZE, "large": 8, "xlarge": 16, "2xlarge": 32}
        if size in burstable:
            return burstable[size]
    elif family[0] in _GIB_PER_VCPU and size in _VCPUS_BY_SIZE:
        return _VCPUS_BY_SIZE[size] * _GIB_PER_VCPU[family[0]]
    raise ValueError(f"no memory size known for instance class {instance_class}")


def postgres_max_connections(instance_class: str) -> int:
    """RDS PostgreSQL's default ``max_connections``: LEAST(DBInstanceClassMemory / 9531392, 5000).

    DBInstanceClassMemory is a little below the nominal memory (the OS keeps some), so the real
    limit is slightly lower and an alarm at a share of this fires slightly late, never early.
    """
    return min(int(instance_memory_gib(instance_class) * GIB // 9531392), 5000)


def _rds(name: str, instance_id: Any, stat: str = "Average", period: int = 300) -> Metric:
    return Metric("AWS/RDS", name, {"DBInstanceIdentifier": instance_id}, stat, period)


def database_alarms(
    t: DatabaseThresholds,
    *,
    primary: str,
    replicas: Sequence[str],
    instance_class: str,
    allocated_storage_gb: int,
    prefix: str = "",
) -> list[AlarmSpec]:
    """CPU, free storage, connections and memory on every instance; replica lag on each replica.

    ``prefix`` keeps alarm keys unique when the stack has several databases (shards: ``s1-``).
    """
    memory = instance_memory_gib(instance_class) * GIB
    specs: list[AlarmSpec] = []
    roles = [(f"{prefix}primary", primary), *((f"{prefix}replica-{i + 1}", r) for i, r in enumerate(replicas))]
    for role, instance in roles:
        common: dict[str, Any] = {"tier": "database", "watches": instance}
        specs += [
            AlarmSpec(
                f"rds-cpu-{role}", "rds-cpu", summary=f"{instance}: CPU above {t.cpu_percent:g}% for 15 minutes",
                signal=_rds("CPUUtilization", instance), comparison="GreaterThanThreshold", threshold=t.cpu_percent,
                evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="breaching", **common,
            ),
            AlarmSpec(
                f"rds-free-storage-{role}", "rds-free-storage",
                summary=f"{instance}: free storage below {t.free_storage_percent:g}% of {allocated_storage_gb} GiB",
                signal=_rds("FreeStorageSpace", instance, "Minimum"), comparison="LessThanThreshold",
                threshold=allocated_storage_gb * GIB * t.free_storage_percent / 100,
                evaluation_periods=2, datapoints_to_alarm=2, treat_missing_data="breaching", **common,
            ),
            AlarmSpec(
                f"rds-connections-{role}", "rds-connections",
                summary=f"{instance}: connections above {t.connections_percent:g}% of max_connections",
                signal=_rds("DatabaseConnections", instance, "Maximum", 60), comparison="GreaterThanThreshold",
                threshold=round(postgres_max_connections(instance_class) * t.connections_percent / 100),
                evaluation_periods=5, datapoints_to_alarm=3, treat_missing_data="breaching", **common,
            ),
            AlarmSpec(
                f"rds-freeable-memory-{role}", "rds-freeable-memory",
                summary=f"{instance}: freeable memory below {t.freeable_memory_percent:g}% for 15 minutes",
                signal=_rds("FreeableMemory", instance, "Minimum"), comparison="LessThanThreshold",
                threshold=memory * t.freeable_memory_percent / 100,
                evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="breaching", **common,
            ),
        ]  # fmt: skip
        if instance != primary:
            # Missing data breaches: a replica that stops reporting lag is broken or gone.
            specs.append(
                AlarmSpec(
                    f"rds-replica-lag-{role}", "rds-replica-lag",
                    summary=f"{instance}: replica lag above {t.replica_lag_seconds:g} s for 5 minutes",
                    signal=_rds("ReplicaLag", instance, "Maximum", 60), comparison="GreaterThanThreshold",
                    threshold=t.replica_lag_seconds, evaluation_periods=5, datapoints_to_alarm=5,
                    treat_missing_data="breaching", **common,
                )
            )  # fmt: skip
    return specs


# -- ElastiCache -------------------------------------------------------------------------------------
def member_clusters(replication_group_id: str, nodes: int) -> list[str]:
    """The node (cache cluster) ids ElastiCache gives a cluster-mode-disabled group: ``<id>-001``..."""
    return [f"{replication_group_id}-{n:03d}" for n in range(1, nodes + 1)]


def _cache(name: str, node: str, stat: str = "Average", period: int = 300) -> Metric:
    return Metric("AWS/ElastiCache", name, {"CacheClusterId": node}, stat, period)


def cache_alarms(t: CacheThresholds, *, nodes: Sequence[str]) -> list[AlarmSpec]:
    """Engine CPU, evictions and memory per node; replication lag on every node but the first.

    Missing data breaches for the always-reported metrics (a silent node is a failed node);
    evictions report only when there are some, so missing evictions are fine.
    """
    specs: list[AlarmSpec] = []
    for i, node in enumerate(nodes):
        common: dict[str, Any] = {"tier": "cache", "watches": node}
        specs += [
            AlarmSpec(
                f"cache-engine-cpu-{node}", "cache-engine-cpu",
                summary=f"{node}: engine CPU above {t.engine_cpu_percent:g}% for 15 minutes",
                signal=_cache("EngineCPUUtilization", node), comparison="GreaterThanThreshold",
                threshold=t.engine_cpu_percent, evaluation_periods=3, datapoints_to_alarm=3,
                treat_missing_data="breaching", **common,
            ),
            AlarmSpec(
                f"cache-evictions-{node}", "cache-evictions",
                summary=f"{node}: more than {t.evictions_per_5_minutes:g} evictions per 5 minutes, 15 minutes long",
                signal=_cache("Evictions", node, "Sum"), comparison="GreaterThanThreshold",
                threshold=t.evictions_per_5_minutes, evaluation_periods=3, datapoints_to_alarm=3,
                treat_missing_data="notBreaching", **common,
            ),
            AlarmSpec(
                f"cache-memory-{node}", "cache-memory",
                summary=f"{node}: memory use above {t.memory_percent:g}% for 15 minutes",
                signal=_cache("DatabaseMemoryUsagePercentage", node, "Maximum"), comparison="GreaterThanThreshold",
                threshold=t.memory_percent, evaluation_periods=3, datapoints_to_alarm=3,
                treat_missing_data="breaching", **common,
            ),
        ]  # fmt: skip
        if i > 0:
            # Which node is primary moves on failover; the primary reports no lag, so missing is fine.
            specs.append(
                AlarmSpec(
                    f"cache-replication-lag-{node}", "cache-replication-lag",
                    summary=f"{node}: replication lag above {t.replication_lag_seconds:g} s for 5 minutes",
                    signal=_cache("ReplicationLag", node, "Maximum", 60), comparison="GreaterThanThreshold",
                    threshold=t.replication_lag_seconds, evaluation_periods=5, datapoints_to_alarm=5,
                    treat_missing_data="notBreaching", **common,
                )
            )  # fmt: skip
    return specs


# -- MSK ---------------------------------------------------------------------------------------------
def _kafka(name: str, dims: Mapping[str, Any], stat: str = "Maximum", period: int = 60) -> Metric:
    return Metric("AWS/Kafka", name, dims, stat, period)


def consumer_lag(cluster: str, group: str, topic: str) -> Metric:
    """MSK's MaxOffsetLag of one group on one topic (DEFAULT monitoring level, no extra cost)."""
    return _kafka("MaxOffsetLag", {"Cluster Name": cluster, "Consumer Group": group, "Topic": topic})


def kafka_alarms(
    t: KafkaThresholds, *, cluster: str, brokers: int, consumers: Sequence[tuple[str, str]]
) -> list[AlarmSpec]:
    """Disk and under-replication per broker, the controller, and each worker group's lag.

    ``consumers`` is (consumer group, topic) per worker. Every metric here is emitted at MSK's
    DEFAULT level, so a stack's enhancedMonitoring choice never silences an alarm.
    """
    common: dict[str, Any] = {"tier": "kafka", "watches": cluster}
    specs: list[AlarmSpec] = [
        # Exactly one broker is the active controller; none means no leader elections can happen.
        AlarmSpec(
            "kafka-active-controller", "kafka-active-controller",
            summary=f"{cluster}: no active controller for 5 minutes",
            signal=_kafka("ActiveControllerCount", {"Cluster Name": cluster}, "Sum"), comparison="LessThanThreshold",
            threshold=1, evaluation_periods=5, datapoints_to_alarm=5, treat_missing_data="breaching", **common,
        ),
    ]  # fmt: skip
    for broker in range(1, brokers + 1):
        dims = {"Cluster Name": cluster, "Broker ID": str(broker)}
        specs += [
            AlarmSpec(
                f"kafka-disk-broker-{broker}", "kafka-disk",
                summary=f"{cluster} broker {broker}: data disk above {t.disk_used_percent:g}%",
                signal=_kafka("KafkaDataLogsDiskUsed", dims), comparison="GreaterThanThreshold",
                threshold=t.disk_used_percent, evaluation_periods=5, datapoints_to_alarm=5,
                treat_missing_data="breaching", **common,
            ),
            # Ten minutes, so a rolling restart (MSK patching) does not page.
            AlarmSpec(
                f"kafka-under-replicated-broker-{broker}", "kafka-under-replicated",
                summary=f"{cluster} broker {broker}: under-replicated partitions for 10 minutes",
                signal=_kafka("UnderReplicatedPartitions", dims), comparison="GreaterThanThreshold",
                threshold=0, evaluation_periods=10, datapoints_to_alarm=10, treat_missing_data="breaching", **common,
            ),
        ]  # fmt: skip
    for group, topic in consumers:
        # MSK emits lag only for a STABLE or EMPTY group that has committed offsets: missing
        # data is a rebalance in progress or a group that never ran, so the alarm keeps its state.
        specs.append(
            AlarmSpec(
                f"kafka-consumer-lag-{group}", "kafka-consumer-lag",
                summary=f"{group} is more than {t.consumer_lag_messages:g} messages behind on {topic} for 10 minutes",
                signal=consumer_lag(cluster, group, topic), comparison="GreaterThanThreshold",
                threshold=t.consumer_lag_messages, evaluation_periods=10, datapoints_to_alarm=10,
                treat_missing_data="ignore", tier="kafka", watches=group,
            )
        )  # fmt: skip
    return specs


# -- ALB, CloudFront, WAF ----------------------------------------------------------------------------
def alb_metric(name: str, load_balancer: Any, target_group: Any | None, stat: str = "Sum", period: int = 60) -> Metric:
    dims = {"LoadBalancer": load_balancer} | ({"TargetGroup": target_group} if target_group is not None else {})
    return Metric("AWS/ApplicationELB", name, dims, stat, period)


def target_5xx_rate(load_balancer: Any, target_group: Any, period: int = 60) -> Expression:
    return Expression(
        "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)",
        {
            "errors": alb_metric("HTTPCode_Target_5XX_Count", load_balancer, target_group, period=period),
            "requests": alb_metric("RequestCount", load_balancer, target_group, period=period),
        },
        "API 5xx (% of requests)",
    )


def edge_alarms(
    t: EdgeThresholds, *, load_balancer: Any, target_group: Any, distribution_id: Any, web_acl: str
) -> list[AlarmSpec]:
    """The ALB's view of the API, CloudFront's view of viewers, and the WAF's blocks.

    Missing data never breaches here: these metrics report only when there is traffic.
    """
    quiet: dict[str, Any] = {"treat_missing_data": "notBreaching"}
    return [
        AlarmSpec(
            "alb-target-5xx-rate", "alb-target-5xx-rate", "alb",
            f"API 5xx above {t.target_5xx_percent:g}% of requests (3 of 5 minutes)",
            target_5xx_rate(load_balancer, target_group), "GreaterThanThreshold", t.target_5xx_percent, 5, 3,
            watches="api", **quiet,
        ),
        AlarmSpec(
            "alb-elb-5xx", "alb-elb-5xx", "alb", f"ALB returned more than {t.elb_5xx_count:g} 5xx a minute, 3 minutes",
            alb_metric("HTTPCode_ELB_5XX_Count", load_balancer, None), "GreaterThanThreshold", t.elb_5xx_count, 3, 3,
            watches="alb", **quiet,
        ),
        AlarmSpec(
            "alb-p99-latency", "alb-p99-latency", "alb", f"API p99 above {t.p99_response_seconds:g} s (8 of 10 minutes)",
            alb_metric("TargetResponseTime", load_balancer, target_group, "p99"), "GreaterThanThreshold",
            t.p99_response_seconds, 10, 8, watches="api", **quiet,
        ),
        AlarmSpec(
            "alb-unhealthy-hosts", "alb-unhealthy-hosts", "alb", "an API target failed its health checks for 5 minutes",
            alb_metric("UnHealthyHostCount", load_balancer, target_group, "Maximum"), "GreaterThanThreshold", 0, 5, 5,
            watches="api", **quiet,
        ),
        AlarmSpec(
            "cloudfront-5xx-rate", "cloudfront-5xx-rate", "edge",
            f"CloudFront 5xx above {t.cloudfront_5xx_percent:g}% of requests for 10 minutes",
            Metric("AWS/CloudFront", "5xxErrorRate", {"DistributionId": distribution_id, "Region": "Global"},
                   "Average", 300, CLOUDFRONT_REGION),
            "GreaterThanThreshold", t.cloudfront_5xx_percent, 2, 2, watches="cdn", **quiet,
        ),
        AlarmSpec(
            "waf-blocked-spike", "waf-blocked-spike", "edge",
            f"WAF blocked more than {t.waf_blocked_per_5_minutes:g} requests in 5 minutes",
            Metric("AWS/WAFV2", "BlockedRequests", {"WebACL": web_acl, "Rule": "ALL"}, "Sum", 300, CLOUDFRONT_REGION),
            "GreaterThanThreshold", t.waf_blocked_per_5_minutes, 1, 1, watches=web_acl, **quiet,
        ),
    ]  # fmt: skip


# -- EKS (Container Insights) ------------------------------------------------------------------------
def container_insights(name: str, cluster: str, stat: str = "Maximum") -> Metric:
    return Metric("ContainerInsights", name, {"ClusterName": cluster}, stat, 60)


def eks_alarms(t: EksThresholds, *, cluster: str, max_nodes: int) -> list[AlarmSpec]:
    """The node group at its maxSize, and pods no node could take.

    The stack has one node group, so the cluster's node count is the group's. Missing data
    breaches: no Container Insights data means the collector is down and nothing else would say so.
    """
    common: dict[str, Any] = {"tier": "eks", "watches": cluster, "treat_missing_data": "breaching"}
    return [
        AlarmSpec(
            "eks-nodes-at-max", "eks-nodes-at-max", summary=f"{cluster}: {max_nodes} nodes (maxSize) for 15 minutes",
            signal=container_insights("cluster_node_count", cluster), comparison="GreaterThanOrEqualToThreshold",
            threshold=max_nodes, evaluation_periods=15, datapoints_to_alarm=15, **common,
        ),
        AlarmSpec(
            "eks-pods-pending", "eks-pods-pending",
            summary=f"{cluster}: more than {t.pending_pods:g} pod(s) pending for 10 minutes",
            signal=container_insights("pod_status_pending", cluster), comparison="GreaterThanThreshold",
            threshold=t.pending_pods, evaluation_periods=10, datapoints_to_alarm=10, **common,
        ),
    ]  # fmt: skip
