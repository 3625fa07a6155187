"""The stack's CloudWatch dashboard, drawn from the same metric definitions as the alarms.

Each alarm kind (one runbook entry) becomes one graph with every resource's line and the
threshold drawn across it; the order pipeline's graphs come from the app's metrics, which the
collector ships to :data:`~infra.components.observability.alarms.APP_NAMESPACE`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infra.components.observability.alarms import (
    APP_NAMESPACE,
    AlarmSpec,
    Expression,
    Metric,
    Signal,
    alb_metric,
    consumer_lag,
)

WIDTH = 24
GRAPH_WIDTH = 8
GRAPH_HEIGHT = 6
TIERS = ("pipeline", "edge", "alb", "database", "cache", "kafka", "eks")
TIER_TITLES = {
    "pipeline": "Order pipeline",
    "edge": "Edge: CloudFront and WAF",
    "alb": "API: load balancer",
    "database": "Database: RDS PostgreSQL",
    "cache": "Cache: ElastiCache",
    "kafka": "Kafka: MSK",
    "eks": "Cluster: EKS",
}


@dataclass(frozen=True)
class Graph:
    """One time-series widget: lines, optionally one threshold line."""

    title: str
    tier: str
    lines: tuple[Signal, ...]
    threshold: float | None = None
    stat_hint: str = ""


def app_metric(name: str, stat: str = "Sum", **dimensions: Any) -> Metric:
    return Metric(APP_NAMESPACE, name, dimensions, stat, 60)


def pipeline_graphs(
    *, cluster: str, kafka_cluster: str, consumers: Sequence[tuple[str, str]], load_balancer: Any, target_group: Any
) -> list[Graph]:
    """The order pipeline's golden signals: traffic, latency, completion, backlog, errors, cache."""
    completion_sum = app_metric("order_completion_seconds_sum", ClusterName=cluster)
    completion_count = app_metric("order_completion_seconds_count", ClusterName=cluster)
    hits = app_metric("cache_hits_total", ClusterName=cluster)
    misses = app_metric("cache_misses_total", ClusterName=cluster)
    return [
        Graph("Orders placed per minute", "pipeline", (app_metric("orders_placed_total", ClusterName=cluster),)),
        Graph(
            "Placement latency: API p99 (ALB, all routes)",
            "pipeline",
            (alb_metric("TargetResponseTime", load_balancer, target_group, "p99"),),
            threshold=1.0,
        ),
        Graph(
            "End-to-end order time (mean seconds to a final status)",
            "pipeline",
            (
                Expression(
                    "IF(count > 0, total / count, 0)",
                    {"total": completion_sum, "count": completion_count},
                    "mean seconds",
                ),
            ),
        ),
        Graph(
            "Consumer lag per worker group (MaxOffsetLag)",
            "pipeline",
            tuple(consumer_lag(kafka_cluster, group, topic) for group, topic in consumers),
        ),
        Graph(
            "Events dead-lettered per minute (DLQ growth)",
            "pipeline",
            (app_metric("events_processed_total", ClusterName=cluster, outcome="dead_lettered"),),
        ),
        Graph(
            "Cache hit ratio (%)",
            "pipeline",
            (
                Expression(
                    "IF(hits + misses > 0, 100 * hits / (hits + misses), 0)", {"hits": hits, "misses": misses}, "hit %"
                ),
            ),
        ),
    ]


def alarm_graphs(specs: Sequence[AlarmSpec]) -> list[Graph]:
    """One graph per alarm kind, every resource's signal on it, the threshold drawn."""
    by_runbook: dict[str, list[AlarmSpec]] = {}
    for spec in specs:
        by_runbook.setdefault(spec.runbook, []).append(spec)
    graphs = []
    for runbook, group in by_runbook.items():
        first = group[0]
        thresholds = {s.threshold for s in group}
        graphs.append(
            Graph(
                title=runbook.replace("-", " "),
                tier=first.tier,
                lines=tuple(s.signal for s in group),
                threshold=first.threshold if len(thresholds) == 1 else None,
            )
        )
    return graphs


def _metric_row(m: Metric, options: dict[str, Any]) -> list[Any]:
    row: list[Any] = [m.namespace, m.name]
    for key, value in m.dimensions.items():
        row += [key, value]
    opts = {"stat": m.stat, "period": m.period, **options}
    if m.label:
        opts.setdefault("label", m.label)
    if m.region:
        opts["region"] = m.region
    return [*row, opts]


def _renamed(expression: str, ids: dict[str, str]) -> str:
    return re.sub(r"\b[a-z][A-Za-z0-9_]*\b", lambda m: ids.get(m[0], m[0]), expression)


def _rows(lines: Sequence[Signal]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for n, line in enumerate(lines):
        if isinstance(line, Metric):
            rows.append(_metric_row(line, {}))
            continue
        # Ids are unique per widget: prefix each line's ids with its position.
        rename = {metric_id: f"l{n}{metric_id}" for metric_id in line.metrics}
        expression = _renamed(line.expression, rename)
        rows.append([{"expression": expression, "label": line.label, "id": f"l{n}"}])
        for metric_id, metric in line.metrics.items():
            rows.append(_metric_row(metric, {"id": rename[metric_id], "visible": False}))
    return rows


def _graph_widget(graph: Graph, region: str, x: int, y: int) -> dict[str, Any]:
    regions = {line.region for line in graph.lines}
    properties: dict[str, Any] = {
        "title": graph.title,
        "view": "timeSeries",
        "region": next(iter(regions - {None}), region) if len(regions) == 1 else region,
        "metrics": _rows(graph.lines),
    }
    if graph.threshold is not None:
        properties["annotations"] = {"horizontal": [{"label": "alarm threshold", "value": graph.threshold}]}
    return {"type": "metric", "x": x, "y": y, "width": GRAPH_WIDTH, "height": GRAPH_HEIGHT, "properties": properties}


def dashboard_body(graphs: Sequence[Graph], *, region: str, alarm_arns: Sequence[Any], title: str) -> dict[str, Any]:
    """The dashboard JSON (as a dict; values may be Pulumi outputs): a section per tier."""
    widgets: list[dict[str, Any]] = [
        {
            "type": "alarm",
            "x": 0,
            "y": 0,
            "width": WIDTH,
            "height": 4,
            "properties": {"title": f"{title}: alarms", "alarms": list(alarm_arns), "sortBy": "stateUpdatedTimestamp"},
        }
    ]
    y = 4
    for tier in TIERS:
        tier_graphs = [g for g in graphs if g.tier == tier]
        if not tier_graphs:
            continue
        widgets.append(
            {
                "type": "text",
                "x": 0,
                "y": y,
                "width": WIDTH,
                "height": 1,
                "properties": {"markdown": f"## {TIER_TITLES[tier]}"},
            }
        )
        y += 1
        for i, graph in enumerate(tier_graphs):
            x = (i % (WIDTH // GRAPH_WIDTH)) * GRAPH_WIDTH
            if i and x == 0:
                y += GRAPH_HEIGHT
            widgets.append(_graph_widget(graph, region, x, y))
        y += GRAPH_HEIGHT
    return {"widgets": widgets}
