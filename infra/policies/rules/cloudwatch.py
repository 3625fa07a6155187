"""Operations rules: every place data lives is watched by at least one CloudWatch alarm.

A stack rule, since an alarm and what it watches are separate resources: the alarm names its
subject only through a metric dimension (``DBInstanceIdentifier``, ``CacheClusterId``,
``Cluster Name``), plain or inside metric math.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from infra.policies.rules._rule import BASELINE, Control, get, items, of_type, stack_rule

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RDS_INSTANCE = "aws:rds/instance:Instance"
CACHE_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
MSK_CLUSTER = "aws:msk/cluster:Cluster"

OPS_1 = Control("OPS.1", "Each stateful resource should have at least one CloudWatch alarm", framework=BASELINE)


def alarm_dimensions(alarm: PolicyResource) -> Iterator[tuple[str, str]]:
    """Every (dimension, value) an alarm's metrics carry."""
    for key, value in (get(alarm.props, "dimensions", default={}) or {}).items():
        yield key, str(value)
    for query in items(get(alarm.props, "metricQueries")):
        for key, value in (get(query, "metric", "dimensions", default={}) or {}).items():
            yield key, str(value)


def _watched(resource: PolicyResource, dimensions: set[tuple[str, str]]) -> bool:
    props: Any = resource.props
    if resource.resource_type == RDS_INSTANCE:
        return ("DBInstanceIdentifier", str(get(props, "identifier", default=""))) in dimensions
    if resource.resource_type == CACHE_GROUP:
        group = str(get(props, "replicationGroupId", default=""))
        return ("ReplicationGroupId", group) in dimensions or any(
            k == "CacheClusterId" and v.startswith(f"{group}-") for k, v in dimensions
        )
    if resource.resource_type == CACHE_CLUSTER:
        return ("CacheClusterId", str(get(props, "clusterId", default=""))) in dimensions
    return ("Cluster Name", str(get(props, "clusterName", default=""))) in dimensions


def unwatched_stateful_resources(resources: Sequence[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    """OPS.1: an RDS instance, cache or Kafka cluster no alarm watches fails silently."""
    dimensions = {pair for alarm in of_type(resources, ALARM) for pair in alarm_dimensions(alarm)}
    for resource in of_type(resources, RDS_INSTANCE, CACHE_GROUP, CACHE_CLUSTER, MSK_CLUSTER):
        # A cache cluster that is a member of a replication group is watched through the group.
        if resource.resource_type == CACHE_CLUSTER and get(resource.props, "replicationGroupId"):
            continue
        if not _watched(resource, dimensions):
            yield resource, "no CloudWatch alarm watches it (no alarm metric names it in a dimension)"


POLICIES = [
    stack_rule(
        "ops-1-stateful-resources-have-alarms",
        OPS_1,
        unwatched_stateful_resources,
        "add an aws.cloudwatch.MetricAlarm on one of its metrics (the Observability component does, "
        "for the database, cache and Kafka components)",
        why="Stack check: RDS instances, ElastiCache groups and clusters, and MSK clusters.",
    ),
]
