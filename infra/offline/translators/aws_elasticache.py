"""ElastiCache: subnet groups, users and replication groups in moto; parameter and user groups synthesized."""

from __future__ import annotations

from typing import Any

from infra.offline.registry import Created, Ctx, synthesized, translator


@translator("aws:elasticache/subnetGroup:SubnetGroup")
def subnet_group(ctx: Ctx) -> Created:
    name = ctx.physical_name(max_len=255)
    g = ctx.client("elasticache").create_cache_subnet_group(
        CacheSubnetGroupName=name,
        CacheSubnetGroupDescription=ctx.inputs.get("description") or "Managed by Pulumi",
        SubnetIds=ctx.inputs["subnetIds"],
        Tags=ctx.tag_list(),
    )["CacheSubnetGroup"]
    return Created(name, {"arn": g["ARN"], "name": name, "vpcId": g["VpcId"]})


synthesized(
    "aws:elasticache/parameterGroup:ParameterGroup",
    reason="moto has no ElastiCache CreateCacheParameterGroup",
    outputs=lambda ctx: {"name": ctx.physical_name(max_len=255)},
)


@translator("aws:elasticache/user:User")
def user(ctx: Ctx) -> Created:
    i = ctx.inputs
    mode = i.get("authenticationMode") or {}
    kwargs: dict[str, Any] = {
        "UserId": i["userId"],
        "UserName": i["userName"],
        "Engine": i["engine"],
        "AccessString": i["accessString"],
        "Tags": ctx.tag_list(),
    }
    if mode.get("type") == "iam":
        if i["userId"] != i["userName"]:
            raise ValueError("an IAM-authenticated ElastiCache user needs user_id == user_name (AWS rule)")
        kwargs["AuthenticationMode"] = {"Type": "iam"}
    elif mode.get("type") == "password":
        kwargs["AuthenticationMode"] = {"Type": "password", "Passwords": mode["passwords"]}
    else:
        kwargs["NoPasswordRequired"] = bool(i.get("noPasswordRequired"))
    u = ctx.client("elasticache").create_user(**kwargs)
    return Created(u["UserId"], {"arn": u["ARN"], "userId": u["UserId"]})


def _user_group(ctx: Ctx) -> dict[str, Any]:
    names = {
        u["userId"]: u["userName"]
        for u in ctx.find("aws:elasticache/user:User")
        if u["userId"] in ctx.inputs["userIds"]
    }
    if "default" not in names.values():
        raise ValueError("DefaultUserRequired: an ElastiCache user group must contain a user named 'default'")
    group_id = ctx.inputs["userGroupId"]
    return {"arn": ctx.arn("elasticache", f"usergroup:{group_id}"), "userGroupId": group_id}


synthesized(
    "aws:elasticache/userGroup:UserGroup",
    reason="moto has no ElastiCache CreateUserGroup (checked: its users must exist and include 'default')",
    outputs=_user_group,
)

_LOG_TYPES = {"slow-log", "engine-log"}


@translator("aws:elasticache/replicationGroup:ReplicationGroup")
def replication_group(ctx: Ctx) -> Created:
    i = ctx.inputs
    group_id = i["replicationGroupId"]
    kwargs: dict[str, Any] = {
        "ReplicationGroupId": group_id,
        "ReplicationGroupDescription": i.get("description") or "Managed by Pulumi",
        "Engine": i.get("engine", "redis"),
        "EngineVersion": i.get("engineVersion"),
        "CacheNodeType": i["nodeType"],
        "Port": int(i.get("port", 6379)),
        "CacheSubnetGroupName": i["subnetGroupName"],
        "SecurityGroupIds": i.get("securityGroupIds", []),
        "CacheParameterGroupName": i.get("parameterGroupName"),
        "AtRestEncryptionEnabled": bool(i.get("atRestEncryptionEnabled")),
        "TransitEncryptionEnabled": bool(i.get("transitEncryptionEnabled")),
        "AutomaticFailoverEnabled": bool(i.get("automaticFailoverEnabled")),
        "MultiAZEnabled": bool(i.get("multiAzEnabled")),
        "SnapshotRetentionLimit": int(i.get("snapshotRetentionLimit", 0)),
        "AutoMinorVersionUpgrade": bool(i.get("autoMinorVersionUpgrade", True)),
        "UserGroupIds": i.get("userGroupIds", []),
        "Tags": ctx.tag_list(),
    }
    if i.get("kmsKeyId"):
        kwargs["KmsKeyId"] = i["kmsKeyId"]
    if i.get("transitEncryptionMode"):
        kwargs["TransitEncryptionMode"] = i["transitEncryptionMode"]
    if i.get("clusterMode") == "enabled":
        kwargs.update(
            ClusterMode="enabled",
            NumNodeGroups=int(i["numNodeGroups"]),
            ReplicasPerNodeGroup=int(i["replicasPerNodeGroup"]),
        )
    else:
        kwargs["NumCacheClusters"] = int(i.get("numCacheClusters", 1))
    if kwargs["AutomaticFailoverEnabled"] and kwargs.get("NumCacheClusters", 2) < 2:
        raise ValueError("automatic failover needs at least 2 cache clusters (AWS rule)")
    logs = i.get("logDeliveryConfigurations") or []
    if logs:
        kwargs["LogDeliveryConfigurations"] = [
            {
                "LogType": c["logType"],
                "DestinationType": c["destinationType"],
                "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": c["destination"]}},
                "LogFormat": c["logFormat"],
            }
            for c in logs
            if c["logType"] in _LOG_TYPES
        ]
    g = ctx.client("elasticache").create_replication_group(**kwargs)["ReplicationGroup"]
    outputs: dict[str, Any] = {
        "arn": g["ARN"],
        "memberClusters": g.get("MemberClusters", []),
        "clusterEnabled": bool(g.get("ClusterEnabled")),
        "engineVersionActual": i.get("engineVersion"),
    }
    if g.get("ConfigurationEndpoint"):
        outputs["configurationEndpointAddress"] = g["ConfigurationEndpoint"]["Address"]
    else:
        primary = g["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
        outputs["primaryEndpointAddress"] = primary
        # moto returns no reader endpoint; AWS names it like the primary, with "replica." for "master.".
        outputs["readerEndpointAddress"] = primary.replace("master.", "replica.", 1)
    return Created(group_id, outputs, note="reader endpoint derived from moto's primary endpoint")
