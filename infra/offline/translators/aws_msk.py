"""MSK clusters in moto; configurations synthesized."""

from __future__ import annotations

from typing import Any

from infra.offline.registry import Created, Ctx, stable_suffix, synthesized, translator


def _configuration(ctx: Ctx) -> dict[str, Any]:
    name = ctx.physical_name()
    return {"arn": ctx.arn("kafka", f"configuration/{name}/{stable_suffix(ctx.urn, 8)}"), "latestRevision": 1}


synthesized("aws:msk/configuration:Configuration", reason="moto has no MSK CreateConfiguration", outputs=_configuration)


def _brokers(name: str, count: int, region: str) -> str:
    """Deterministic stand-ins in the shape MSK gives them (moto has no GetBootstrapBrokers)."""
    suffix = stable_suffix(name, 6)
    return ",".join(f"b-{n}.{name}.{suffix}.c2.kafka.{region}.amazonaws.com:9098" for n in range(1, count + 1))


@translator("aws:msk/cluster:Cluster")
def cluster(ctx: Ctx) -> Created:
    i = ctx.inputs
    name = ctx.physical_name("clusterName")
    nodes = i["brokerNodeGroupInfo"]
    auth = i.get("clientAuthentication") or {}
    encryption = i.get("encryptionInfo") or {}
    in_transit = encryption.get("encryptionInTransit") or {}
    exporters = ((i.get("openMonitoring") or {}).get("prometheus")) or {}
    broker_logs = ((i.get("loggingInfo") or {}).get("brokerLogs") or {}).get("cloudwatchLogs") or {}
    provisioned: dict[str, Any] = {
        "BrokerNodeGroupInfo": {
            "InstanceType": nodes["instanceType"],
            "ClientSubnets": nodes["clientSubnets"],
            "SecurityGroups": nodes.get("securityGroups", []),
            "StorageInfo": {
                "EbsStorageInfo": {"VolumeSize": int(nodes["storageInfo"]["ebsStorageInfo"]["volumeSize"])}
            },
        },
        "KafkaVersion": i["kafkaVersion"],
        "NumberOfBrokerNodes": int(i["numberOfBrokerNodes"]),
        "ClientAuthentication": {
            "Sasl": {
                "Iam": {"Enabled": bool((auth.get("sasl") or {}).get("iam"))},
                "Scram": {"Enabled": bool((auth.get("sasl") or {}).get("scram"))},
            },
            "Unauthenticated": {"Enabled": bool(auth.get("unauthenticated"))},
        },
        "EncryptionInfo": {
            "EncryptionAtRest": {"DataVolumeKMSKeyId": encryption.get("encryptionAtRestKmsKeyArn", "")},
            "EncryptionInTransit": {
                "ClientBroker": in_transit.get("clientBroker", "TLS"),
                "InCluster": bool(in_transit.get("inCluster", True)),
            },
        },
        "EnhancedMonitoring": i.get("enhancedMonitoring", "DEFAULT"),
        "OpenMonitoring": {
            "Prometheus": {
                "JmxExporter": {"EnabledInBroker": bool((exporters.get("jmxExporter") or {}).get("enabledInBroker"))},
                "NodeExporter": {"EnabledInBroker": bool((exporters.get("nodeExporter") or {}).get("enabledInBroker"))},
            }
        },
        "LoggingInfo": {
            "BrokerLogs": {
                "CloudWatchLogs": {"Enabled": bool(broker_logs.get("enabled")), "LogGroup": broker_logs.get("logGroup")}
            }
        },
    }
    if i.get("configurationInfo"):
        provisioned["ConfigurationInfo"] = {
            "Arn": i["configurationInfo"]["arn"],
            "Revision": int(i["configurationInfo"]["revision"]),
        }
    kafka = ctx.client("kafka")
    arn = kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned, Tags=ctx.tags)["ClusterArn"]
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    brokers = int(i["numberOfBrokerNodes"])
    return Created(
        arn,
        {
            "arn": arn,
            "clusterName": name,
            "clusterUuid": arn.rsplit("/", 1)[-1],
            "currentVersion": info.get("CurrentVersion"),
            "bootstrapBrokersSaslIam": _brokers(name, brokers, ctx.region),
            "zookeeperConnectString": info["Provisioned"].get("ZookeeperConnectString", ""),
        },
        note="bootstrap brokers synthesized: moto has no GetBootstrapBrokers",
    )
