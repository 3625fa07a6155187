"""The RedisCache component in every stack, as moto built it, and its configuration rules."""

from __future__ import annotations

import pytest

from infra.components.cache import CacheArgs, cache_parameters
from infra.offline.model import StackRun
from tests.infra.data_tier import SECURITY_GROUP, component, ingress_of, problems_with

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
USER = "aws:elasticache/user:User"


def test_redis_requires_tls_and_auth(each_stack: StackRun):
    group = each_stack.one(GROUP)
    assert group["transitEncryptionEnabled"] is True and group["transitEncryptionMode"] == "required"
    assert group["atRestEncryptionEnabled"] is True
    assert group["kmsKeyId"] in {k["arn"] for k in each_stack.of_type("aws:kms/key:Key")}
    user_group = each_stack.one("aws:elasticache/userGroup:UserGroup")
    assert group["userGroupIds"] == [user_group["userGroupId"]], "no RBAC user group: anyone on the network is in"
    app = next(u for u in each_stack.of_type(USER) if u["userName"] != "default")
    assert app["authenticationMode"]["type"] == "iam" and app["userId"] == app["userName"]
    assert app["userId"] in user_group["userIds"]


def test_redis_default_user_disabled(each_stack: StackRun):
    default = next(u for u in each_stack.of_type(USER) if u["userName"] == "default")
    assert default["accessString"].split()[0] == "off" and "-@all" in default["accessString"]
    assert default["userId"] in each_stack.one("aws:elasticache/userGroup:UserGroup")["userIds"]
    passwords = default["authenticationMode"]["passwords"]
    assert passwords and all(p in each_stack.secrets for p in passwords), "the default user's password is not secret"


def test_dev_is_single_node_cache(run_of):
    group = run_of("dev").one(GROUP)
    assert group["numCacheClusters"] == 1
    assert group["automaticFailoverEnabled"] is False and group["multiAzEnabled"] is False


def test_prod_cache_fails_over_across_azs(run_of):
    group = run_of("prod").one(GROUP)
    assert group["numCacheClusters"] == 3
    assert group["automaticFailoverEnabled"] is True and group["multiAzEnabled"] is True


def test_cache_in_isolated_subnets_with_its_parameters_and_logs(each_stack: StackRun):
    group = each_stack.one(GROUP)
    subnets = each_stack.one("aws:elasticache/subnetGroup:SubnetGroup")
    assert sorted(subnets["subnetIds"]) == sorted(each_stack.outputs["isolatedSubnetIds"])
    assert group["subnetGroupName"] == subnets["name"]
    params = each_stack.one("aws:elasticache/parameterGroup:ParameterGroup")
    assert {p["name"]: p["value"] for p in params["parameters"]}["maxmemory-policy"] == "allkeys-lru"
    assert group["parameterGroupName"] == params["name"]
    logs = {c["logType"] for c in group["logDeliveryConfigurations"]}
    assert logs == {"slow-log", "engine-log"}
    cache = component(each_stack, "RedisCache")
    for log_group in each_stack.children(cache, "aws:cloudwatch/logGroup:LogGroup"):
        assert log_group["kmsKeyId"] and log_group["retentionInDays"], log_group.name


def test_cache_admits_only_the_eks_nodes(each_stack: StackRun):
    group = each_stack.by_id(SECURITY_GROUP, each_stack.one(GROUP)["securityGroupIds"][0])
    rules = ingress_of(each_stack, group)
    assert [r["referencedSecurityGroupId"] for r in rules] == [each_stack.outputs["nodeSecurityGroupId"]]


def test_cluster_mode_scales_writes_with_shards():
    args = CacheArgs(cluster_mode=True, shards=3, replicas_per_shard=1)
    assert args.failover and args.parameter_family == "valkey8"
    assert cache_parameters(args)["cluster-enabled"] == "yes"


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"nodeType": "large"}, "cache.<family>.<size>"),
        ({"engine": "redis", "engineVersion": "6.2"}, "engineVersion '6.2'"),
        ({"clusterMode": True, "replicasPerShard": 0}, "replicasPerShard >= 1"),
        ({"shards": 2}, "shards (2) must be 1 unless clusterMode"),
        ({"replicasPerShard": 6}, "less than or equal to 5"),
    ],
)
def test_bad_cache_value_is_rejected(values, fragment):
    problems = problems_with("cache", **values)
    assert any(p.startswith("webscale:cache") and fragment in p for p in problems), problems
