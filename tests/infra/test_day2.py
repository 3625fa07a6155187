"""Day-2 changes: a later `up` with changed configuration must not collide, shrink or downgrade."""

from __future__ import annotations

from infra.offline.model import StackRun

CLUSTER = "aws:eks/cluster:Cluster"
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
