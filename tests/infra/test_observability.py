"""Alarms, their topics and the dashboard in every stack, as the offline engine built them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.components.observability.alarms import instance_memory_gib, postgres_max_connections
from infra.offline.engine import load_stack_config
from infra.offline.model import Resource, StackRun
from infra.settings import SettingsError, load_settings

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
DB = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
MSK = "aws:msk/cluster:Cluster"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def alarms(run: StackRun) -> list[Resource]:
    return run.of_type(ALARM)


def metrics_of(alarm: Resource) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of every metric an alarm reads, plain or in metric math."""
    if alarm.get("metricQueries"):
        for q in alarm["metricQueries"]:
            if q.get("metric"):
                m = q["metric"]
                yield m["namespace"], m["metricName"], m.get("dimensions") or {}
    else:
        yield alarm["namespace"], alarm["metricName"], alarm.get("dimensions") or {}


def alarms_on(run: StackRun, dimension: str, value: str) -> set[str]:
    """Metric names of the alarms that watch ``dimension=value``."""
    return {name for a in alarms(run) for _, name, dims in metrics_of(a) if dims.get(dimension) == value}


def worker_groups(run: StackRun) -> set[tuple[str, str]]:
    """(consumer group, topic) of every KEDA Kafka trigger: the worker groups the stack runs."""
    return {
        (t["metadata"]["consumerGroup"], t["metadata"]["topic"])
        for s in run.of_type(SCALED_OBJECT)
        for t in s.inputs["spec"]["triggers"]
        if t["type"] == "apache-kafka" or "consumerGroup" in t.get("metadata", {})
    }


def cache_nodes(group: Resource) -> list[str]:
    return [f"{group.id}-{n:03d}" for n in range(1, int(group["numCacheClusters"]) + 1)]


def test_every_database_instance_has_cpu_storage_connection_and_memory_alarms(each_stack: StackRun):
    for db in each_stack.of_type(DB):
        watched = alarms_on(each_stack, "DBInstanceIdentifier", db.id)
        expected = {"CPUUtilization", "FreeStorageSpace", "DatabaseConnections", "FreeableMemory"}
        if db.get("replicateSourceDb"):
            expected.add("ReplicaLag")
        assert expected <= watched, f"{db.id}: missing alarms on {sorted(expected - watched)}"


def test_every_cache_node_has_cpu_eviction_and_memory_alarms_and_replicas_watch_lag(each_stack: StackRun):
    for group in each_stack.of_type(CACHE):
        nodes = cache_nodes(group)
        for i, node in enumerate(nodes):
            watched = alarms_on(each_stack, "CacheClusterId", node)
            expected = {"EngineCPUUtilization", "Evictions", "DatabaseMemoryUsagePercentage"}
            if i:
                expected.add("ReplicationLag")
            assert expected <= watched, f"{node}: missing alarms on {sorted(expected - watched)}"


def test_every_broker_has_disk_and_replication_alarms_and_the_cluster_a_controller_alarm(each_stack: StackRun):
    cluster = each_stack.one(MSK)
    per_broker: dict[str, set[str]] = {}
    cluster_wide = set()
    for a in alarms(each_stack):
        for namespace, name, dims in metrics_of(a):
            if namespace == "AWS/Kafka" and dims.get("Cluster Name") == cluster["clusterName"]:
                if "Broker ID" in dims:
                    per_broker.setdefault(dims["Broker ID"], set()).add(name)
                else:
                    cluster_wide.add(name)
    brokers = {str(n) for n in range(1, int(cluster["numberOfBrokerNodes"]) + 1)}
    assert set(per_broker) == brokers
    assert all(names == {"KafkaDataLogsDiskUsed", "UnderReplicatedPartitions"} for names in per_broker.values())
    assert "ActiveControllerCount" in cluster_wide


def test_every_worker_group_has_a_consumer_lag_alarm_on_the_topic_it_reads(each_stack: StackRun):
    groups = worker_groups(each_stack)
    assert len(groups) == 4, groups
    cluster = each_stack.one(MSK)["clusterName"]
    watched = {
        (dims["Consumer Group"], dims["Topic"])
        for a in alarms(each_stack)
        for _, name, dims in metrics_of(a)
        if name == "MaxOffsetLag" and dims.get("Cluster Name") == cluster
    }
    assert groups <= watched, f"worker groups without a lag alarm: {sorted(groups - watched)}"


def test_edge_alarms_watch_this_stacks_alb_distribution_and_web_acl(each_stack: StackRun):
    alb = each_stack.one("aws:lb/loadBalancer:LoadBalancer")
    target_group = each_stack.one("aws:lb/targetGroup:TargetGroup")
    assert {"HTTPCode_ELB_5XX_Count"} <= alarms_on(each_stack, "LoadBalancer", alb["arnSuffix"])
    on_target = alarms_on(each_stack, "TargetGroup", target_group["arnSuffix"])
    assert {"HTTPCode_Target_5XX_Count", "RequestCount", "TargetResponseTime", "UnHealthyHostCount"} <= on_target
    distribution = each_stack.one("aws:cloudfront/distribution:Distribution")
    assert "5xxErrorRate" in alarms_on(each_stack, "DistributionId", distribution.id)
    acl = each_stack.one("aws:wafv2/webAcl:WebAcl")
    assert "BlockedRequests" in alarms_on(each_stack, "WebACL", acl["name"])


def test_cluster_alarms_watch_nodes_at_max_and_pending_pods(each_stack: StackRun):
    cluster = each_stack.one("aws:eks/cluster:Cluster")
    assert {"cluster_node_count", "pod_status_pending"} <= alarms_on(each_stack, "ClusterName", cluster.id)
    at_max = next(a for a in alarms(each_stack) if a.get("metricName") == "cluster_node_count")
    assert at_max["threshold"] == each_stack.one("aws:eks/nodeGroup:NodeGroup")["scalingConfig"]["maxSize"]


def test_every_alarm_notifies_its_regions_topic_on_alarm_and_on_ok(each_stack: StackRun):
    topics = {t.id.split(":")[3]: t.id for t in each_stack.of_type(TOPIC)}
    assert set(topics) == {"eu-west-1", "us-east-1"}
    for a in alarms(each_stack):
        region = a["arn"].split(":")[3]
        assert a["alarmActions"] == [topics[region]], f"{a.id}: alarm action {a['alarmActions']}"
        assert a["okActions"] == [topics[region]], f"{a.id}: OK action {a['okActions']}"


def test_cloudfront_and_waf_alarms_live_in_us_east_1_where_their_metrics_are(each_stack: StackRun):
    for a in alarms(each_stack):
        namespaces = {ns for ns, _, _ in metrics_of(a)}
        in_us_east_1 = a["arn"].split(":")[3] == "us-east-1"
        assert in_us_east_1 == bool(namespaces & {"AWS/CloudFront", "AWS/WAFV2"}), a.id


def test_every_alarm_states_what_missing_data_means(each_stack: StackRun):
    undecided = [a.id for a in alarms(each_stack) if "treatMissingData" not in a.inputs]
    assert not undecided, f"alarms that leave missing data to the default: {undecided}"


def test_alarm_topics_are_encrypted_with_a_rotating_key_cloudwatch_may_use(each_stack: StackRun):
    keys = {k["arn"]: k for k in each_stack.of_type("aws:kms/key:Key")}
    for topic in each_stack.of_type(TOPIC):
        key = keys[topic["kmsMasterKeyId"]]
        assert key["enableKeyRotation"] is True
        statements = json.loads(key["policy"])["Statement"]
        cloudwatch = [s for s in statements if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"]
        assert cloudwatch and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"]), topic.id


def test_subscribers_come_from_the_stack_config_and_dev_pages_nobody(each_stack: StackRun):
    config = load_stack_config(each_stack.stack).get("webscale:observability") or {}
    expected = {("email", e) for e in config.get("emailSubscribers", [])}
    if config.get("webhookUrl"):
        expected.add(("https", config["webhookUrl"]))
    for topic in each_stack.of_type(TOPIC):
        found = {(s["protocol"], s["endpoint"]) for s in each_stack.of_type(SUBSCRIPTION) if s["topic"] == topic.id}
        assert found == expected, topic.id
    if each_stack.stack == "dev":
        assert not each_stack.of_type(SUBSCRIPTION)


def test_every_alarm_has_a_runbook_entry_in_the_operations_guide(each_stack: StackRun):
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", OPERATIONS.read_text(), re.MULTILINE)}
    for a in alarms(each_stack):
        match = re.search(r"Runbook: docs/operations\.md#([a-z0-9-]+)", a["alarmDescription"])
        assert match, f"{a.id}: its description names no runbook"
        assert match[1] in anchors, f"{a.id}: docs/operations.md has no heading for #{match[1]}"


def _anchor(heading: str) -> str:
    """GitHub's heading anchor: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


def test_bad_subscriber_config_names_the_key():
    config = {**load_stack_config("dev"), "webscale:observability": {"emailSubscribers": ["not-an-address"]}}
    with pytest.raises(SettingsError) as caught:
        load_settings(config, project="webscale", stack="dev")
    assert "webscale:observability.emailSubscribers" in str(caught.value)
    config["webscale:observability"] = {"webhookUrl": "http://hooks.example.com/x"}
    with pytest.raises(SettingsError, match=r"webscale:observability\.webhookUrl.*https://"):
        load_settings(config, project="webscale", stack="dev")


@pytest.mark.parametrize(
    ("instance_class", "memory_gib", "max_connections"),
    [("db.t4g.micro", 1, 112), ("db.t4g.medium", 4, 450), ("db.r7g.large", 16, 1802), ("db.m7g.xlarge", 16, 1802)],
)
def test_connection_alarm_derives_max_connections_from_the_instance_memory(
    instance_class: str, memory_gib: float, max_connections: int
):
    assert instance_memory_gib(instance_class) == memory_gib
    assert postgres_max_connections(instance_class) == max_connections


def test_an_instance_class_without_a_known_size_is_refused_by_name():
    with pytest.raises(ValueError, match=r"db\.z1d\.large"):
        instance_memory_gib("db.z1d.large")


def _metric_rows(widget: dict[str, Any]) -> Iterator[list[Any]]:
    for row in widget["properties"].get("metrics", []):
        if not isinstance(row[0], dict):
            yield row


def test_dashboard_is_valid_json_with_a_graph_per_alarm_kind_and_the_pipeline(each_stack: StackRun):
    body = json.loads(each_stack.one("aws:cloudwatch/dashboard:Dashboard")["dashboardBody"])
    titles = {w["properties"].get("title") for w in body["widgets"]}
    for expected in ("Orders placed per minute", "Consumer lag per worker group (MaxOffsetLag)", "Cache hit ratio (%)"):
        assert expected in titles
    (status,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert sorted(status["properties"]["alarms"]) == sorted(a["arn"] for a in alarms(each_stack))


def test_every_alarm_metric_is_on_the_dashboard(each_stack: StackRun):
    body = json.loads(each_stack.one("aws:cloudwatch/dashboard:Dashboard")["dashboardBody"])
    drawn = {
        (row[0], row[1], tuple(sorted(zip(row[2:-1:2], row[3:-1:2], strict=True))))
        for w in body["widgets"]
        for row in _metric_rows(w)
    }
    for a in alarms(each_stack):
        for namespace, name, dims in metrics_of(a):
            assert (namespace, name, tuple(sorted(dims.items()))) in drawn, f"{a.id}: {name} {dims} not drawn"


def test_each_database_shard_gets_its_own_alarms_with_distinct_names():
    from infra.components.observability.alarms import database_alarms
    from infra.components.observability.args import DatabaseThresholds

    def shard(prefix: str, primary: str) -> list[str]:
        specs = database_alarms(
            DatabaseThresholds(), primary=primary, replicas=[f"{primary}-r1"], instance_class="db.r7g.large",
            allocated_storage_gb=100, prefix=prefix,
        )  # fmt: skip
        return [s.key for s in specs]

    first, second = shard("", "webscale-prod-db"), shard("s1-", "webscale-prod-db-s1")
    assert "rds-replica-lag-replica-1" in first and "rds-replica-lag-s1-replica-1" in second
    assert not set(first) & set(second)
