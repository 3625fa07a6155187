"""``webscale:observability``: where alarms go and the thresholds they fire at, with the reasons."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from infra.args import ConfigModel, check_log_retention

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,63}$", re.IGNORECASE)


class DatabaseThresholds(ConfigModel):
    """``webscale:observability.database``: RDS alarms, per instance."""

    cpu_percent: float = Field(default=80, gt=0, le=100)
    """CPUUtilization above this for 15 minutes. Default 80: room left for a failover or a burst,
    and sustained, so a vacuum or a deploy's migrations do not page."""
    free_storage_percent: float = Field(default=10, gt=0, lt=100)
    """FreeStorageSpace below this share of allocatedStorageGb. Default 10: storage autoscaling
    normally grows the volume first, so the alarm means autoscaling failed or hit its ceiling."""
    replica_lag_seconds: float = Field(default=30, gt=0)
    """ReplicaLag above this on any replica, for 5 minutes. Default 30 s: reads from a replica
    that far behind show customers stale orders (the API reads its own writes from the primary)."""
    connections_percent: float = Field(default=80, gt=0, le=100)
    """DatabaseConnections above this share of max_connections (RDS's default, derived from the
    instance memory). Default 80: at 100 the API's new connections fail."""
    freeable_memory_percent: float = Field(default=10, gt=0, lt=100)
    """FreeableMemory below this share of the instance memory, for 15 minutes. Default 10: less
    means the page cache is gone and the instance is near swapping."""


class CacheThresholds(ConfigModel):
    """``webscale:observability.cache``: ElastiCache alarms, per node."""

    engine_cpu_percent: float = Field(default=80, gt=0, le=100)
    """EngineCPUUtilization (the single engine thread) above this for 15 minutes. Default 80: the
    engine is single-threaded, so host CPU would hide a saturated engine on a multi-core node."""
    evictions_per_5_minutes: float = Field(default=1000, ge=0)
    """Evictions above this per 5 minutes, three periods in a row. Default 1000: a few evictions
    are normal under allkeys-lru; a steady stream means the working set no longer fits."""
    memory_percent: float = Field(default=90, gt=0, le=100)
    """DatabaseMemoryUsagePercentage above this for 15 minutes. Default 90: evictions follow."""
    replication_lag_seconds: float = Field(default=30, gt=0)
    """ReplicationLag above this on a replica node, for 5 minutes. Default 30 s."""


class KafkaThresholds(ConfigModel):
    """``webscale:observability.kafka``: MSK alarms."""

    disk_used_percent: float = Field(default=85, gt=0, le=100)
    """KafkaDataLogsDiskUsed above this on any broker. Default 85: storage autoscaling targets a
    lower utilization, so 85 means it did not keep up; a full disk stops the broker."""
    consumer_lag_messages: float = Field(default=1000, gt=0)
    """MaxOffsetLag (worst partition) of a worker's consumer group above this for 10 minutes.
    Default 1000: KEDA scales out well below it; sustained lag this high means scaling is
    exhausted (maxReplicas) or the workers are failing."""


class EdgeThresholds(ConfigModel):
    """``webscale:observability.edge``: ALB, CloudFront and WAF alarms."""

    target_5xx_percent: float = Field(default=1, gt=0, le=100)
    """API responses that are 5xx, as a share of requests, over 5 minutes. Default 1: ten times
    the placement SLO's error budget (0.1%), so it pages on a real outage, not on noise."""
    elb_5xx_count: float = Field(default=10, ge=0)
    """5xx the ALB itself returned (no healthy target, timeouts) per minute, three minutes in a
    row. Default 10."""
    p99_response_seconds: float = Field(default=1, gt=0)
    """TargetResponseTime p99 of the API above this for 10 minutes. Default 1 s: the placement
    latency SLO."""
    cloudfront_5xx_percent: float = Field(default=1, gt=0, le=100)
    """CloudFront's 5xxErrorRate above this for 10 minutes. Default 1, as for the ALB."""
    waf_blocked_per_5_minutes: float = Field(default=1000, ge=0)
    """Requests the WAF blocked per 5 minutes. Default 1000: about the rate-limit rule tripping
    for several clients at once, an attack or a misbehaving client worth a look."""


class EksThresholds(ConfigModel):
    """``webscale:observability.eks``: cluster alarms, from Container Insights."""

    pending_pods: float = Field(default=1, ge=0)
    """Pods Pending above this for 10 minutes. Default 1: a pod pending that long means no node
    could take it, so the cluster autoscaler is stuck or at the node group's maxSize."""


class ObservabilityArgs(ConfigModel):
    """``webscale:observability``: the alarm topic, its subscribers, and the alarm thresholds."""

    email_subscribers: list[str] = Field(default_factory=list)
    """Addresses the alarm topic mails (each confirms once). Default none: dev has no on-call."""
    webhook_url: str | None = None
    """An https endpoint (chat webhook, incident tool) the topic posts alarms to. Default none."""
    collector_addon_version: str = Field(default="v4.6.0-eksbuild.1", pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
    """The ``amazon-cloudwatch-observability`` EKS add-on (Container Insights and the app's
    Prometheus metrics). Not verifiable offline: check ``aws eks describe-addon-versions
    --addon-name amazon-cloudwatch-observability --kubernetes-version <v>``."""
    container_log_retention_days: int = 30
    """Days to keep the add-on's logs (containers, nodes, Container Insights, Prometheus). Default 30."""
    database: DatabaseThresholds = DatabaseThresholds()
    cache: CacheThresholds = CacheThresholds()
    kafka: KafkaThresholds = KafkaThresholds()
    edge: EdgeThresholds = EdgeThresholds()
    eks: EksThresholds = EksThresholds()

    @field_validator("email_subscribers")
    @classmethod
    def _emails(cls, emails: list[str]) -> list[str]:
        bad = [e for e in emails if not _EMAIL.match(e)]
        if bad:
            raise ValueError(f"are not email addresses: {bad}")
        if len(set(emails)) != len(emails):
            raise ValueError("lists an address twice")
        return emails

    @field_validator("container_log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        return check_log_retention(days)

    @field_validator("webhook_url")
    @classmethod
    def _https(cls, url: str | None) -> str | None:
        if url is not None and not re.match(r"^https://[^\s/]+(/\S*)?$", url):
            raise ValueError("must be an https:// URL (SNS delivers alarms over TLS only here)")
        return url
