"""Day-2 changes: a later `up` with changed configuration must not collide, shrink or downgrade."""

from __future__ import annotations

import re

import pytest

from infra.components.cache import CacheArgs
from infra.offline.model import StackRun
from infra.settings import SettingsError, load_settings

CLUSTER = "aws:eks/cluster:Cluster"
DB_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def test_a_replaced_node_group_gets_a_new_name(each_stack: StackRun):
    group = each_stack.one(NODE_GROUP)
    # A fixed name collides: the replacement is created before the old group is deleted.
    assert "nodeGroupName" not in group.inputs
    prefix = group.inputs["nodeGroupNamePrefix"]
    assert prefix == f"webscale-{each_stack.stack}-general-"
    assert len(prefix) + 26 <= 63, "the provider's unique suffix must fit EKS's 63-character limit"
    assert group["nodeGroupName"].startswith(prefix) and group["nodeGroupName"] != prefix


def test_nodes_follow_the_control_planes_kubernetes_version(each_stack: StackRun):
    cluster = each_stack.one(CLUSTER)
    group = each_stack.one(NODE_GROUP)
    assert group.inputs["version"] == cluster["version"] == cluster.inputs["version"]
    assert each_stack.depends_on(group, cluster)


def test_database_changes_wait_for_the_maintenance_window_except_in_dev(each_stack: StackRun):
    immediately = each_stack.stack == "dev"
    for db in each_stack.of_type(DB_INSTANCE):
        assert db["applyImmediately"] is immediately, db.name
        assert db["allowMajorVersionUpgrade"] is True, f"{db.name}: a change of major would be refused"
    assert each_stack.one(REPLICATION_GROUP)["applyImmediately"] is immediately


def test_the_final_snapshot_identifier_is_unique_to_this_life_of_the_stack(run_of):
    db = run_of("prod").one(DB_INSTANCE, "database-primary")
    suffix = run_of("prod").one("random:index/randomId:RandomId", "database-final-snapshot")
    assert db["finalSnapshotIdentifier"] == f"webscale-prod-db-final-{suffix['hex']}"
    assert re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", db["finalSnapshotIdentifier"])


def test_the_master_secret_is_named_by_prefix_so_a_recreated_stack_can_have_one(run_of):
    secret = run_of("prod").one("aws:secretsmanager/secret:Secret", "database-master")
    # A deleted secret keeps its name for its recovery window (30 days here).
    assert secret["recoveryWindowInDays"] == 30
    assert "name" not in secret.inputs and secret.inputs["namePrefix"] == "webscale-prod-database-master-"
    assert secret["name"].startswith(secret.inputs["namePrefix"])


def test_dev_lets_rds_name_its_managed_master_secret(run_of):
    # With a managed password RDS creates the secret (rds!db-<uuid>), unique per instance.
    assert not run_of("dev").of_type("aws:secretsmanager/secret:Secret")
    assert run_of("dev").one(DB_INSTANCE, "database-primary")["manageMasterUserPassword"] is True


def test_replicas_can_be_added_before_failover_is_turned_on():
    step_one = CacheArgs(replicas_per_shard=1, automatic_failover=False)
    assert (step_one.nodes_per_shard, step_one.failover) == (2, False)
    assert CacheArgs(replicas_per_shard=1).failover is True  # a new group with replicas: on at once
    assert CacheArgs(replicas_per_shard=0).failover is False


def test_failover_without_a_replica_is_refused_naming_both_keys():
    config = {
        "aws:region": "eu-west-1",
        "webscale:owner": "o",
        "webscale:costCenter": "c",
        "webscale:cache": {"replicasPerShard": 0, "automaticFailover": True},
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(config, project="webscale", stack="test")
    message = "\n".join(caught.value.problems)
    assert "webscale:cache" in message and "automaticFailover: true needs replicasPerShard >= 1" in message
    assert "automaticFailover: false, then turn it on in a second deploy" in message
