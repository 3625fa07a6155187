"""The KafkaCluster component: an MSK provisioned cluster for the order pipeline's events.

Clients authenticate with IAM over TLS only (port 9098); brokers live in the isolated
subnets, storage grows by itself, and the topics the app needs are described here (the
app deployment creates them with a Job, since only the cluster's network reaches them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from infra.args import ConfigModel, check_log_retention
from infra.components.data_access import encrypted_log_group, store_foundation
from infra.components.network import Network
from infra.naming import stack_name

IAM_PORT = 9098
"""The brokers' SASL/IAM over TLS listener, the only one clients get."""

APP_TOPICS: dict[str, tuple[str, ...]] = {
    "orders": ("OrderPlaced",),
    "payments": ("PaymentProcessed", "PaymentFailed"),
    "inventory": ("InventoryUpdated", "OutOfStock"),
    "shipments": ("OrderFulfilled",),
}
"""The app's topics and the events each carries; every topic also gets ``<topic>.dlq``."""


class KafkaArgs(ConfigModel):
    """``<project>:kafka`` in the stack configuration."""

    kafka_version: str = Field(default="3.8.x", pattern=r"^\d+\.\d+\.(\d+|x)$")
    """Kafka version MSK runs. Default 3.8.x (MSK applies its patch releases)."""
    broker_count: int | None = Field(default=None, ge=2, le=30)
    """Brokers, 2..30; a multiple of network.azCount. Default: one per AZ."""
    instance_type: str = "kafka.m7g.large"
    """Broker instance type, ``kafka.<family>.<size>``. Default kafka.m7g.large."""
    ebs_volume_gb: int = Field(default=100, ge=1, le=16384)
    """Initial EBS volume per broker in GiB. Default 100. Changes after creation are ignored:
    storage autoscaling owns the size from then on (and MSK volumes only grow)."""
    max_ebs_volume_gb: int = Field(default=1000, ge=1, le=16384)
    """Ceiling for storage autoscaling per broker in GiB; >= ebsVolumeGb. Default 1000."""
    storage_target_utilization: int = Field(default=60, ge=10, le=80)
    """Disk use (%) the storage autoscaling policy keeps brokers under. Default 60."""
    log_retention_hours: int = Field(default=168, ge=1)
    """How long topics keep messages (``log.retention.hours``). Default 168 (7 days)."""
    dlq_retention_hours: int = Field(default=336, ge=1)
    """How long dead-letter topics keep messages: long enough to inspect and replay. Default 336 (14 days)."""
    partitions_per_topic: int = Field(default=12, ge=1)
    """Partitions of each app topic; must be >= maxConsumerReplicas. Default 12."""
    dlq_partitions: int = Field(default=1, ge=1)
    """Partitions of each dead-letter topic (read rarely, by one consumer). Default 1."""
    max_consumer_replicas: int = Field(default=12, ge=1)
    """Most worker replicas KEDA may run per topic: a partition feeds one consumer of a
    group, so replicas beyond the partition count would idle. Default 12."""
    enhanced_monitoring: Literal["DEFAULT", "PER_BROKER", "PER_TOPIC_PER_BROKER", "PER_TOPIC_PER_PARTITION"] = (
        "PER_BROKER"
    )
    """CloudWatch metric level. Default PER_BROKER (per-topic levels cost more)."""
    open_monitoring: bool = True
    """Prometheus JMX and node exporters on the brokers. Default on."""
    broker_log_retention_days: int = 30
    """Days to keep broker logs in CloudWatch Logs. Default 30."""

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        if not re.fullmatch(r"kafka\.[a-z0-9]+\.[a-z0-9]+", value):
            raise ValueError("must look like kafka.<family>.<size>, for example kafka.m7g.large")
        return value

    @field_validator("broker_log_retention_days")
    @classmethod
    def _log_retention(cls, days: int) -> int:
        return check_log_retention(days)

    @model_validator(mode="after")
    def _consistent(self) -> KafkaArgs:
        if self.partitions_per_topic < self.max_consumer_replicas:
            raise ValueError(
                f"partitionsPerTopic ({self.partitions_per_topic}) must be >= maxConsumerReplicas "
                f"({self.max_consumer_replicas}): consumers beyond the partition count get no partition"
            )
        if self.max_ebs_volume_gb < self.ebs_volume_gb:
            raise ValueError(f"maxEbsVolumeGb ({self.max_ebs_volume_gb}) must be >= ebsVolumeGb ({self.ebs_volume_gb})")
        return self

    @property
    def brokers(self) -> int:
        if self.broker_count is None:
            raise ValueError("kafka.brokerCount is resolved by StackSettings (one per AZ when unset)")
        return self.broker_count


def replication_factor(brokers: int) -> int:
    """Three copies where there are three brokers; every broker otherwise."""
    return min(3, brokers)


def server_properties(brokers: int, log_retention_hours: int) -> dict[str, str]:
    """Broker defaults for durability: no silent topic creation, no unclean elections,
    and a write acknowledged by all in-sync replicas survives the loss of one."""
    rf = replication_factor(brokers)
    return {
        "auto.create.topics.enable": "false",
        "default.replication.factor": str(rf),
        "min.insync.replicas": str(max(1, rf - 1)),
        "unclean.leader.election.enable": "false",
        "num.partitions": "3",
        "log.retention.hours": str(log_retention_hours),
        "offsets.topic.replication.factor": str(rf),
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(max(1, rf - 1)),
    }


def configuration_name(kafka_version: str) -> str:
    """The MSK configuration's name, which carries the Kafka version it is for.

    A version bump replaces the configuration (``kafka_versions`` and ``name`` force a new
    one). Pulumi creates the replacement before deleting the old one, which the cluster
    still uses until its own update; MSK refuses a second configuration of the same name,
    so the name must change with the version.
    """
    return stack_name("kafka", kafka_version.replace(".", "-"))


VOLUME_SIZE_PATH = "brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"
"""Storage autoscaling grows the brokers' volumes and MSK never shrinks them, so Pulumi must
not "correct" the size back to ``ebsVolumeGb`` (terraform-aws-modules' MSK module ignores the
same field). The camelCase property path, as the engine matches it."""


def render_properties(properties: dict[str, str]) -> str:
    return "".join(f"{k} = {v}\n" for k, v in properties.items())


@dataclass(frozen=True)
class TopicSpec:
    """A topic the app needs; the app deployment creates it and caps KEDA by ``partitions``."""

    name: str
    partitions: int
    replication_factor: int
    retention_ms: int
    events: tuple[str, ...] = ()
    dead_letter_of: str | None = None


def topic_specs(args: KafkaArgs) -> list[TopicSpec]:
    rf = replication_factor(args.brokers)
    specs = []
    for topic, events in APP_TOPICS.items():
        specs.append(TopicSpec(topic, args.partitions_per_topic, rf, args.log_retention_hours * 3_600_000, events))
        specs.append(
            TopicSpec(f"{topic}.dlq", args.dlq_partitions, rf, args.dlq_retention_hours * 3_600_000, events, topic)
        )
    return specs


class KafkaCluster(pulumi.ComponentResource):
    """An MSK cluster reachable only over SASL/IAM + TLS from the given security groups."""

    cluster_arn: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    bootstrap_brokers_iam: pulumi.Output[str]
    kafka_version: str
    security_group_id: pulumi.Output[str]
    topics: list[TopicSpec]
    physical_name: str
    """The cluster's name, known before it exists (the ``Cluster Name`` of its metrics)."""
    broker_count: int

    def __init__(
        self,
        name: str,
        args: KafkaArgs,
        *,
        network: Network,
        allowed_security_group_ids: Sequence[pulumi.Input[str]],
        protect: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("webscale:index:KafkaCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key, sg = store_foundation(
            name,
            short_name="kafka",
            encrypts="the Kafka data volumes and broker logs",
            network=network,
            port=IAM_PORT,
            service="Kafka (SASL/IAM over TLS)",
            allowed_security_group_ids=allowed_security_group_ids,
            protect=protect,
            parent=self,
        )
        logs = encrypted_log_group(
            f"{name}-broker-logs",
            log_group_name=f"/aws/msk/{stack_name()}/brokers",
            retention_days=args.broker_log_retention_days,
            key=key,
            parent=self,
        )
        configuration = aws.msk.Configuration(
            f"{name}-config",
            name=configuration_name(args.kafka_version),
            kafka_versions=[args.kafka_version],
            server_properties=render_properties(server_properties(args.brokers, args.log_retention_hours)),
            description="Durable broker defaults",
            opts=child,
        )
        exporters = args.open_monitoring
        physical_name = stack_name("kafka")
        cluster = aws.msk.Cluster(
            f"{name}-cluster",
            cluster_name=physical_name,
            kafka_version=args.kafka_version,
            number_of_broker_nodes=args.brokers,
            broker_node_group_info=aws.msk.ClusterBrokerNodeGroupInfoArgs(
                instance_type=args.instance_type,
                client_subnets=network.isolated_subnet_ids,
                security_groups=[sg.id],
                storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoArgs(
                    ebs_storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfoArgs(
                        volume_size=args.ebs_volume_gb
                    )
                ),
            ),
            client_authentication=aws.msk.ClusterClientAuthenticationArgs(
                sasl=aws.msk.ClusterClientAuthenticationSaslArgs(iam=True, scram=False),
                unauthenticated=False,
            ),
            encryption_info=aws.msk.ClusterEncryptionInfoArgs(
                encryption_at_rest_kms_key_arn=key.arn,
                encryption_in_transit=aws.msk.ClusterEncryptionInfoEncryptionInTransitArgs(
                    client_broker="TLS", in_cluster=True
                ),
            ),
            configuration_info=aws.msk.ClusterConfigurationInfoArgs(
                arn=configuration.arn, revision=configuration.latest_revision
            ),
            enhanced_monitoring=args.enhanced_monitoring,
            open_monitoring=aws.msk.ClusterOpenMonitoringArgs(
                prometheus=aws.msk.ClusterOpenMonitoringPrometheusArgs(
                    jmx_exporter=aws.msk.ClusterOpenMonitoringPrometheusJmxExporterArgs(enabled_in_broker=exporters),
                    node_exporter=aws.msk.ClusterOpenMonitoringPrometheusNodeExporterArgs(enabled_in_broker=exporters),
                )
            ),
            logging_info=aws.msk.ClusterLoggingInfoArgs(
                broker_logs=aws.msk.ClusterLoggingInfoBrokerLogsArgs(
                    cloudwatch_logs=aws.msk.ClusterLoggingInfoBrokerLogsCloudwatchLogsArgs(
                        enabled=True, log_group=logs.name
                    )
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, ignore_changes=[VOLUME_SIZE_PATH]),
        )
        target = aws.appautoscaling.Target(
            f"{name}-storage",
            service_namespace="kafka",
            scalable_dimension="kafka:broker-storage:VolumeSize",
            resource_id=cluster.arn,
            min_capacity=1,
            max_capacity=args.max_ebs_volume_gb,
            opts=pulumi.ResourceOptions(parent=cluster),
        )
        aws.appautoscaling.Policy(
            f"{name}-storage",
            name=stack_name("kafka-storage"),
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=args.storage_target_utilization,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="KafkaBrokerStorageUtilization"
                ),
                disable_scale_in=True,  # MSK volumes can only grow
            ),
            opts=pulumi.ResourceOptions(parent=target),
        )

        self.cluster_arn = cluster.arn
        self.cluster_name = cluster.cluster_name
        self.bootstrap_brokers_iam = cluster.bootstrap_brokers_sasl_iam
        self.kafka_version = args.kafka_version
        self.security_group_id = sg.id
        self.topics = topic_specs(args)
        self.physical_name = physical_name
        self.broker_count = args.brokers
        self.register_outputs(
            {
                "cluster_arn": self.cluster_arn,
                "cluster_name": self.cluster_name,
                "bootstrap_brokers_iam": self.bootstrap_brokers_iam,
                "kafka_version": self.kafka_version,
                "security_group_id": self.security_group_id,
                "topics": [vars(t) for t in self.topics],
            }
        )
