"""ElastiCache rules (Redis OSS / Valkey replication groups and standalone cache clusters).

Public packs have nothing for ElastiCache; these follow the FSBP ElastiCache controls.
A cache cluster that belongs to a replication group (``replicationGroupId``) takes every one of
these settings from its group, so only the group is judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.policies.rules._rule import ADVISORY, Control, Predicate, Problems, get, resource_rule

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
BOTH = (REPLICATION_GROUP, CACHE_CLUSTER)


def _engine(props: Mapping[str, Any]) -> str:
    return str(get(props, "engine", default="redis"))


def _standalone(check: Predicate) -> Predicate:
    """``check`` for a cache cluster: skipped when the cluster is a member of a replication group."""
    return lambda props: [] if get(props, "replicationGroupId") else check(props)


def _both(check: Predicate) -> dict[str, Predicate]:
    return {REPLICATION_GROUP: check, CACHE_CLUSTER: _standalone(check)}


def backup_problems(props: Mapping[str, Any]) -> Problems:
    """ElastiCache.1: Redis/Valkey keep automatic snapshots at least one day (provider default: 0 = off)."""
    if _engine(props) == "memcached":
        return []
    days = float(get(props, "snapshotRetentionLimit", default=0))
    return [] if days >= 1 else ["automatic backups are off (snapshot_retention_limit 0)"]


def minor_upgrade_problems(props: Mapping[str, Any]) -> Problems:
    on = get(props, "autoMinorVersionUpgrade", default=True)  # AWS default: true
    return [] if on in (True, "true") else ["automatic minor version upgrades are off"]


def failover_problems(props: Mapping[str, Any]) -> Problems:
    return [] if get(props, "automaticFailoverEnabled", default=False) else ["automatic failover is off"]


def at_rest_problems(props: Mapping[str, Any]) -> Problems:
    default = _engine(props) == "valkey"  # provider default: true for valkey, false for redis
    return [] if get(props, "atRestEncryptionEnabled", default=default) else ["data is not encrypted at rest"]


def in_transit_problems(props: Mapping[str, Any]) -> Problems:
    if not get(props, "transitEncryptionEnabled", default=False):
        return ["data is not encrypted in transit"]
    if get(props, "transitEncryptionMode", default="required") != "required":
        return ["transit encryption mode is 'preferred', which still accepts plaintext clients"]
    return []


def subnet_group_problems(props: Mapping[str, Any]) -> Problems:
    name = get(props, "subnetGroupName")
    return ["it uses the default subnet group"] if name in (None, "", "default") else []


POLICIES = [
    resource_rule(
        "elasticache-1-automatic-backups",
        Control("ElastiCache.1", "ElastiCache (Redis OSS) clusters should have automatic backups enabled"),
        BOTH,
        _both(backup_problems),
        "set snapshot_retention_limit >= 1 on the aws.elasticache.ReplicationGroup",
    ),
    resource_rule(
        "elasticache-2-auto-minor-version-upgrade",
        Control("ElastiCache.2", "ElastiCache clusters should have automatic minor version upgrades enabled"),
        BOTH,
        _both(minor_upgrade_problems),
        "set auto_minor_version_upgrade=True (the default) on the aws.elasticache.ReplicationGroup",
    ),
    resource_rule(
        "elasticache-3-automatic-failover",
        Control("ElastiCache.3", "ElastiCache replication groups should have automatic failover enabled"),
        [REPLICATION_GROUP],
        failover_problems,
        "set automatic_failover_enabled=True (needs num_cache_clusters >= 2) on the aws.elasticache.ReplicationGroup",
        level=ADVISORY,
        why="Advisory: dev runs a single node, which cannot fail over.",
    ),
    resource_rule(
        "elasticache-4-encrypted-at-rest",
        Control("ElastiCache.4", "ElastiCache replication groups should be encrypted at rest"),
        [REPLICATION_GROUP],
        at_rest_problems,
        "set at_rest_encryption_enabled=True (and kms_key_id) on the aws.elasticache.ReplicationGroup",
    ),
    resource_rule(
        "elasticache-5-encrypted-in-transit",
        Control("ElastiCache.5", "ElastiCache replication groups should be encrypted in transit"),
        [REPLICATION_GROUP],
        in_transit_problems,
        'set transit_encryption_enabled=True and transit_encryption_mode="required" on the '
        "aws.elasticache.ReplicationGroup",
        why="Mode 'preferred' (a migration state that accepts plaintext) counts as a violation.",
    ),
    resource_rule(
        "elasticache-7-no-default-subnet-group",
        Control("ElastiCache.7", "ElastiCache clusters should not use the default subnet group"),
        BOTH,
        _both(subnet_group_problems),
        "create an aws.elasticache.SubnetGroup over the isolated subnets and pass its name as subnet_group_name",
    ),
]
