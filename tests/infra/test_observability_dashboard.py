"""The dashboard draws only metrics that exist in the stack: its resources, or the app's own."""

from __future__ import annotations

import json
import re
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

import app.core.metrics
from infra.components.observability.alarms import APP_NAMESPACE
from infra.offline.model import StackRun
from tests.infra.test_observability import CACHE, DB, MSK, cache_nodes, worker_groups

OUTCOMES = {"processed", "duplicate", "skipped", "dead_lettered"}


def shipped_app_metrics() -> set[str]:
    """Names the collector can ship from the app's registry: it drops histograms (CloudWatch
    agent), sends counters as ``<name>_total``, summaries as ``_sum`` and ``_count``."""
    names: set[str] = set()
    for value in vars(app.core.metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        kind, name = value._type, value._name
        if kind == "counter":
            names.add(f"{name}_total")
        elif kind == "gauge":
            names.add(name)
        elif kind == "summary":
            names |= {f"{name}_sum", f"{name}_count"}
    return names


def known_dimensions(run: StackRun) -> dict[tuple[str, str], set[str]]:
    """(namespace, dimension) -> the values that exist in this stack."""
    msk = run.one(MSK)
    groups = worker_groups(run)
    cluster = run.one("aws:eks/cluster:Cluster").id
    acl = run.one("aws:wafv2/webAcl:WebAcl")
    return {
        ("AWS/RDS", "DBInstanceIdentifier"): {db.id for db in run.of_type(DB)},
        ("AWS/ElastiCache", "CacheClusterId"): {n for g in run.of_type(CACHE) for n in cache_nodes(g)},
        ("AWS/Kafka", "Cluster Name"): {msk["clusterName"]},
        ("AWS/Kafka", "Broker ID"): {str(n) for n in range(1, int(msk["numberOfBrokerNodes"]) + 1)},
        ("AWS/Kafka", "Consumer Group"): {g for g, _ in groups},
        ("AWS/Kafka", "Topic"): {t for _, t in groups},
        ("AWS/ApplicationELB", "LoadBalancer"): {run.one("aws:lb/loadBalancer:LoadBalancer")["arnSuffix"]},
        ("AWS/ApplicationELB", "TargetGroup"): {run.one("aws:lb/targetGroup:TargetGroup")["arnSuffix"]},
        ("AWS/CloudFront", "DistributionId"): {run.one("aws:cloudfront/distribution:Distribution").id},
        ("AWS/CloudFront", "Region"): {"Global"},
        ("AWS/WAFV2", "WebACL"): {acl["name"]},
        ("AWS/WAFV2", "Rule"): {"ALL", *(r["name"] for r in acl["rules"])},
        ("ContainerInsights", "ClusterName"): {cluster},
        (APP_NAMESPACE, "ClusterName"): {cluster},
        (APP_NAMESPACE, "outcome"): OUTCOMES,
    }


def metric_rows(body: dict[str, Any]) -> list[list[Any]]:
    return [row for w in body["widgets"] for row in w["properties"].get("metrics", []) if not isinstance(row[0], dict)]


def dashboard(run: StackRun) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(run.one("aws:cloudwatch/dashboard:Dashboard")["dashboardBody"])
    return body


def test_dashboard_dimensions_name_resources_that_exist_in_the_stack(each_stack: StackRun):
    known = known_dimensions(each_stack)
    for row in metric_rows(dashboard(each_stack)):
        namespace, name, *pairs, _options = row
        for dimension, value in zip(pairs[::2], pairs[1::2], strict=True):
            allowed = known.get((namespace, dimension))
            assert allowed is not None, f"{namespace} {name}: unknown dimension {dimension!r}"
            assert value in allowed, f"{namespace} {name}: {dimension}={value!r} is not in {each_stack.stack}"


def test_dashboard_consumer_lag_pairs_are_the_worker_groups_and_their_topics(each_stack: StackRun):
    drawn = set()
    for _namespace, name, *pairs, _ in metric_rows(dashboard(each_stack)):
        dims = dict(zip(pairs[::2], pairs[1::2], strict=True))
        if name == "MaxOffsetLag":
            drawn.add((dims["Consumer Group"], dims["Topic"]))
    assert drawn == worker_groups(each_stack)


def test_dashboard_app_metrics_are_ones_the_app_exports_and_the_collector_can_ship(each_stack: StackRun):
    shipped = shipped_app_metrics()
    app_rows = [row for row in metric_rows(dashboard(each_stack)) if row[0] == APP_NAMESPACE]
    assert app_rows
    for row in app_rows:
        assert row[1] in shipped, f"{row[1]} is not exported by app/core/metrics.py (or is a dropped histogram)"


def test_dashboard_math_uses_only_ids_defined_in_its_widget(each_stack: StackRun):
    for widget in dashboard(each_stack)["widgets"]:
        rows = widget["properties"].get("metrics", [])
        ids = {r[-1]["id"] for r in rows if isinstance(r[-1], dict) and "id" in r[-1]}
        for row in rows:
            if isinstance(row[0], dict):
                used = set(re.findall(r"\b[a-z][A-Za-z0-9_]*\b", row[0]["expression"])) - {"IF", "FILL"}
                assert used <= ids, f"{widget['properties']['title']}: {sorted(used - ids)} undefined"
