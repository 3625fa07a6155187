"""The KafkaCluster component in every stack, as moto built it, and its configuration rules."""

from __future__ import annotations

import pytest

from infra.components.kafka import (
    APP_TOPICS,
    VOLUME_SIZE_PATH,
    KafkaArgs,
    configuration_name,
    server_properties,
    topic_specs,
)
from infra.offline.engine import load_stack_config
from infra.offline.model import StackRun
from infra.settings import SettingsError, load_settings
from tests.infra.data_tier import SECURITY_GROUP, ingress_of, problems_with

CLUSTER = "aws:msk/cluster:Cluster"


def test_kafka_rejects_unauthenticated_clients(each_stack: StackRun):
    cluster = each_stack.one(CLUSTER)
    auth = cluster["clientAuthentication"]
    assert auth["sasl"]["iam"] is True and auth.get("unauthenticated") is False
    assert not auth["sasl"].get("scram")
    transit = cluster["encryptionInfo"]["encryptionInTransit"]
    assert transit == {"clientBroker": "TLS", "inCluster": True}
    assert cluster["encryptionInfo"]["encryptionAtRestKmsKeyArn"] in {
        k["arn"] for k in each_stack.of_type("aws:kms/key:Key")
    }


def test_brokers_in_isolated_subnets_and_reached_on_9098(each_stack: StackRun):
    cluster = each_stack.one(CLUSTER)
    assert sorted(cluster["brokerNodeGroupInfo"]["clientSubnets"]) == sorted(each_stack.outputs["isolatedSubnetIds"])
    brokers = each_stack.outputs["kafkaBootstrapBrokersIam"].split(",")
    assert len(brokers) == cluster["numberOfBrokerNodes"] and all(b.endswith(":9098") for b in brokers)
    group = each_stack.by_id(SECURITY_GROUP, cluster["brokerNodeGroupInfo"]["securityGroups"][0])
    rules = ingress_of(each_stack, group)
    assert [(r["referencedSecurityGroupId"], r["fromPort"]) for r in rules] == [
        (each_stack.outputs["nodeSecurityGroupId"], 9098)
    ]


def test_broker_storage_autoscales(each_stack: StackRun):
    cluster = each_stack.one(CLUSTER)
    target = each_stack.one("aws:appautoscaling/target:Target")
    assert (target["serviceNamespace"], target["scalableDimension"]) == ("kafka", "kafka:broker-storage:VolumeSize")
    assert target["resourceId"] == cluster["arn"]
    assert target["maxCapacity"] >= cluster["brokerNodeGroupInfo"]["storageInfo"]["ebsStorageInfo"]["volumeSize"]
    policy = each_stack.one("aws:appautoscaling/policy:Policy")
    spec = policy["targetTrackingScalingPolicyConfiguration"]
    assert spec["predefinedMetricSpecification"]["predefinedMetricType"] == "KafkaBrokerStorageUtilization"


def test_cluster_uses_the_durable_configuration(each_stack: StackRun):
    cluster = each_stack.one(CLUSTER)
    config = each_stack.one("aws:msk/configuration:Configuration")
    assert cluster["configurationInfo"]["arn"] == config["arn"]
    assert "auto.create.topics.enable = false" in config["serverProperties"]
    assert "unclean.leader.election.enable = false" in config["serverProperties"]
    logs = cluster["loggingInfo"]["brokerLogs"]["cloudwatchLogs"]
    assert logs["enabled"] is True


@pytest.mark.parametrize(
    ("brokers", "rf", "min_isr"),
    [(1, 1, 1), (2, 2, 1), (3, 3, 2), (4, 3, 2), (6, 3, 2), (9, 3, 2)],
)
def test_kafka_server_properties(brokers, rf, min_isr):
    props = server_properties(brokers, 72)
    assert props["default.replication.factor"] == str(rf)
    assert props["min.insync.replicas"] == str(min_isr)
    assert props["auto.create.topics.enable"] == "false"
    assert props["unclean.leader.election.enable"] == "false"
    assert props["log.retention.hours"] == "72"


def test_topics_have_enough_partitions_for_consumers(each_stack: StackRun):
    settings = load_settings(load_stack_config(each_stack.stack), project="webscale", stack=each_stack.stack)
    topics = topic_specs(settings.kafka)
    assert {t.name for t in topics} == set(APP_TOPICS) | {f"{t}.dlq" for t in APP_TOPICS}
    for topic in topics:
        assert topic.replication_factor == min(3, settings.kafka.brokers), topic.name
        if topic.dead_letter_of is None:
            assert topic.partitions >= settings.kafka.max_consumer_replicas, topic.name


def test_dead_letter_topics_keep_messages_longer():
    topics = {t.name: t for t in topic_specs(KafkaArgs(broker_count=3))}
    assert topics["orders.dlq"].dead_letter_of == "orders"
    assert topics["orders.dlq"].retention_ms > topics["orders"].retention_ms
    assert topics["payments"].events == ("PaymentProcessed", "PaymentFailed")


def test_broker_count_multiple_of_azs():
    config = load_stack_config("prod")
    config["webscale:kafka"] = {**config["webscale:kafka"], "brokerCount": 4}
    with pytest.raises(SettingsError) as err:
        load_settings(config, project="webscale", stack="test")
    (problem,) = err.value.problems
    assert "webscale:kafka.brokerCount (4)" in problem and "webscale:network.azCount (3)" in problem


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"partitionsPerTopic": 2, "maxConsumerReplicas": 3}, "partitionsPerTopic (2) must be >= maxConsumerReplicas"),
        ({"instanceType": "m5.large"}, "kafka.<family>.<size>"),
        ({"maxEbsVolumeGb": 10}, "maxEbsVolumeGb"),
        ({"brokerCount": 1}, "greater than or equal to 2"),
    ],
)
def test_bad_kafka_value_is_rejected(values, fragment):
    problems = problems_with("kafka", **values)
    assert any(p.startswith("webscale:kafka") and fragment in p for p in problems), problems


def test_broker_count_defaults_to_one_per_az():
    config = load_stack_config("dev")
    config["webscale:kafka"] = {k: v for k, v in config["webscale:kafka"].items() if k != "brokerCount"}
    assert load_settings(config, project="webscale", stack="test").kafka.brokers == 2


def test_autoscaled_broker_storage_is_not_shrunk_back_on_the_next_up(each_stack: StackRun):
    cluster = each_stack.one(CLUSTER)
    # MSK refuses to shrink a volume; the next `up` would try after autoscaling grew it.
    assert VOLUME_SIZE_PATH in cluster.ignore_changes
    assert VOLUME_SIZE_PATH == "brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"


def test_a_kafka_version_bump_gives_the_configuration_a_new_name(each_stack: StackRun):
    cluster = each_stack.one(CLUSTER)
    config = each_stack.one("aws:msk/configuration:Configuration")
    version = cluster["kafkaVersion"]
    assert config["kafkaVersions"] == [version]
    assert config["name"] == f"webscale-{each_stack.stack}-kafka-{version.replace('.', '-')}"
    assert configuration_name("3.8.x") != configuration_name("3.9.x")
    # Created before the old one is deleted: the cluster moves over, then the old one goes.
    assert not config.delete_before_replace
