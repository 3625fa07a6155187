"""The RedisCache component: an ElastiCache (Valkey) replication group for cache-aside reads.

TLS is required, data at rest is encrypted with a customer-managed key, and clients
authenticate with IAM through an RBAC user group whose ``default`` user is switched off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pydantic import Field, field_validator, model_validator

from infra.args import ConfigModel, check_log_retention
from infra.components.data_access import encrypted_log_group, store_foundation
from infra.components.network import Network
from infra.naming import stack_name

SUPPORTED_VERSIONS = {"valkey": ("7.2", "8.0", "8.1"), "redis": ("7.0", "7.1")}
"""Engine versions with IAM authentication (Valkey 7.2+, Redis OSS 7.0+). The only list."""

NODE_TYPE = re.compile(r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
PORT = 6379
APP_ACCESS = "on ~* +@all -@dangerous"
"""The app may run every command but the dangerous ones (FLUSHALL, KEYS, CONFIG, DEBUG...)."""
DEFAULT_USER_ACCESS = "off -@all"
"""The mandatory ``default`` user: switched off and allowed nothing."""


class CacheArgs(ConfigModel):
    """``<project>:cache`` in the stack configuration."""

    engine: Literal["valkey", "redis"] = "valkey"
    """``valkey`` (default): AWS's Redis-OSS-compatible engine, about 20-33% cheaper; or ``redis``."""
    engine_version: str = "8.0"
    """Engine version; IAM auth needs Valkey 7.2+ or Redis OSS 7.0+. Default 8.0."""
    node_type: str = "cache.t4g.small"
    """Node type, ``cache.<family>.<size>``. Default cache.t4g.small."""
    replicas_per_shard: int = Field(default=2, ge=0, le=5)
    """Replicas per shard, 0..5; a shard has 1 + replicas nodes. Default 2 (3 nodes, one per AZ)."""
    automatic_failover: bool | None = None
    """Automatic failover and Multi-AZ. Default: on with 1 or more replicas, off without.
    Set it explicitly to go from 0 replicas to some (or back) in two deploys: first the
    replicas with ``automaticFailover: false``, then failover on (and, going back, failover
    off before the replicas go). ElastiCache refuses failover on a group without a replica."""
    apply_immediately: bool = False
    """Apply modifications (node type, engine version) at once instead of in the next
    maintenance window. Default off: a node type change replaces nodes, which belongs in the
    window. Replica count changes always apply at once. dev sets it on."""
    cluster_mode: bool = False
    """Cluster mode: shard the keyspace to scale writes. Default off (one shard)."""
    shards: int = Field(default=1, ge=1, le=500)
    """Shards (node groups) in cluster mode; 1 without it. Default 1."""
    snapshot_retention_days: int = Field(default=7, ge=0, le=35)
    """Days of daily snapshots, 0..35 (0: none). Default 7."""
    maxmemory_policy: Literal["allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu"] = "allkeys-lru"
    """Eviction when memory is full. Default allkeys-lru: a cache evicts the least recently used key."""
    log_retention_days: int = 30
    """Days to keep slow and engine logs in CloudWatch Logs. Default 30."""

    @field_validator("node_type")
    @classmethod
    def _node_type(cls, value: str) -> str:
        if not NODE_TYPE.fullmatch(value):
            raise ValueError("must look like cache.<family>.<size>, for example cache.r7g.large")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention(cls, days: int) -> int:
        return check_log_retention(days)

    @model_validator(mode="after")
    def _consistent(self) -> CacheArgs:
        supported = SUPPORTED_VERSIONS[self.engine]
        if self.engine_version not in supported:
            raise ValueError(
                f"engineVersion {self.engine_version!r} is not supported for engine {self.engine} with IAM "
                f"authentication; use one of {', '.join(supported)}"
            )
        if not self.cluster_mode and self.shards != 1:
            raise ValueError(f"shards ({self.shards}) must be 1 unless clusterMode is true")
        if self.cluster_mode and self.replicas_per_shard < 1:
            raise ValueError("clusterMode needs replicasPerShard >= 1: ElastiCache requires automatic failover there")
        if self.automatic_failover and self.replicas_per_shard < 1:
            raise ValueError(
                "automaticFailover: true needs replicasPerShard >= 1: ElastiCache fails over only to a replica. "
                "Add the replicas first with automaticFailover: false, then turn it on in a second deploy"
            )
        if self.cluster_mode and self.automatic_failover is False:
            raise ValueError("clusterMode needs automaticFailover: ElastiCache refuses to turn it off in cluster mode")
        return self

    @property
    def nodes_per_shard(self) -> int:
        return 1 + self.replicas_per_shard

    @property
    def failover(self) -> bool:
        """``automaticFailover`` as set, else on exactly when there is a replica to fail over to."""
        if self.automatic_failover is not None:
            return self.automatic_failover
        return self.nodes_per_shard >= 2

    @property
    def parameter_family(self) -> str:
        return f"{self.engine}{self.engine_version.split('.')[0]}"


def node_ids(args: CacheArgs, replication_group_id: str) -> list[str]:
    """The cache cluster (node) ids ElastiCache gives the group's members, the ``CacheClusterId``
    of their metrics: ``<group>-001``...; in cluster mode ``<group>-0001-001`` (shard, node)."""
    if args.cluster_mode:
        return [
            f"{replication_group_id}-{shard:04d}-{node:03d}"
            for shard in range(1, args.shards + 1)
            for node in range(1, args.nodes_per_shard + 1)
        ]
    return [f"{replication_group_id}-{node:03d}" for node in range(1, args.nodes_per_shard + 1)]


def cache_parameters(args: CacheArgs) -> dict[str, str]:
    parameters: dict[str, str] = {"maxmemory-policy": args.maxmemory_policy}
    if args.cluster_mode:
        parameters["cluster-enabled"] = "yes"  # a cluster-mode group needs a cluster-mode parameter group
    return parameters


class RedisCache(pulumi.ComponentResource):
    """A TLS-only, IAM-authenticated ElastiCache replication group in the isolated subnets."""

    primary_endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    port: int
    auth_mode: str
    security_group_id: pulumi.Output[str]
    replication_group_id: pulumi.Output[str]
    replication_group_arn: pulumi.Output[str]
    app_user_id: pulumi.Output[str]
    app_user_arn: pulumi.Output[str]
    engine: str
    node_ids: list[str]
    """Every node's cache cluster id (see :func:`node_ids`)."""

    def __init__(
        self,
        name: str,
        args: CacheArgs,
        *,
        network: Network,
        allowed_security_group_ids: Sequence[pulumi.Input[str]],
        protect: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("webscale:index:RedisCache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key, sg = store_foundation(
            name,
            short_name="cache",
            encrypts="the cache data and logs",
            network=network,
            port=PORT,
            service=args.engine.capitalize(),
            allowed_security_group_ids=allowed_security_group_ids,
            protect=protect,
            parent=self,
        )
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            name=stack_name("cache"),
            description="Isolated subnets: no route to the internet",
            subnet_ids=network.isolated_subnet_ids,
            opts=child,
        )
        parameters = aws.elasticache.ParameterGroup(
            f"{name}-params",
            name=stack_name("cache", args.parameter_family),
            family=args.parameter_family,
            description="Cache eviction policy",
            parameters=[
                aws.elasticache.ParameterGroupParameterArgs(name=k, value=v) for k, v in cache_parameters(args).items()
            ],
            opts=child,
        )
        logs = {
            kind: encrypted_log_group(
                f"{name}-{kind}",
                log_group_name=f"/aws/elasticache/{stack_name()}/{kind}",
                retention_days=args.log_retention_days,
                key=key,
                parent=self,
            )
            for kind in ("slow-log", "engine-log")
        }

        # Every user group must hold a user named "default". IAM authentication is not
        # offered for it, and a Valkey group admits only users that authenticate, so it
        # gets a generated password (a Pulumi secret, never output) and is switched off.
        default_password = random.RandomPassword(
            f"{name}-default-user", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        default_user = aws.elasticache.User(
            f"{name}-default-user",
            user_id=stack_name("cache-default"),
            user_name="default",
            engine=args.engine,
            access_string=DEFAULT_USER_ACCESS,
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[default_password.result]
            ),
            opts=child,
        )
        # IAM users need user_id == user_name; the app signs a token for it (elasticache:Connect).
        app_user_name = stack_name("cache-app")
        app_user = aws.elasticache.User(
            f"{name}-app-user",
            user_id=app_user_name,
            user_name=app_user_name,
            engine=args.engine,
            access_string=APP_ACCESS,
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(type="iam"),
            opts=child,
        )
        users = aws.elasticache.UserGroup(
            f"{name}-users",
            user_group_id=stack_name("cache-users"),
            engine=args.engine,
            user_ids=[default_user.user_id, app_user.user_id],
            opts=child,
        )

        sizing: dict[str, Any] = (
            {"num_node_groups": args.shards, "replicas_per_node_group": args.replicas_per_shard}
            if args.cluster_mode
            else {"num_cache_clusters": args.nodes_per_shard}
        )
        group_id = stack_name("cache", max_len=40)
        group = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            replication_group_id=group_id,
            description=f"{args.engine} cache of {stack_name()}",
            engine=args.engine,
            engine_version=args.engine_version,
            node_type=args.node_type,
            port=PORT,
            cluster_mode="enabled" if args.cluster_mode else "disabled",
            **sizing,
            automatic_failover_enabled=args.failover,
            multi_az_enabled=args.failover,
            subnet_group_name=subnets.name,
            security_group_ids=[sg.id],
            parameter_group_name=parameters.name,
            at_rest_encryption_enabled=True,
            kms_key_id=key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            user_group_ids=[users.user_group_id],
            snapshot_retention_limit=args.snapshot_retention_days,
            auto_minor_version_upgrade=True,
            apply_immediately=args.apply_immediately,
            log_delivery_configurations=[
                aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                    destination=group_.name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type=kind,
                )
                for kind, group_ in logs.items()
            ],
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )

        self.primary_endpoint = (
            group.configuration_endpoint_address if args.cluster_mode else group.primary_endpoint_address
        )
        self.reader_endpoint = (
            group.configuration_endpoint_address if args.cluster_mode else group.reader_endpoint_address
        )
        self.port = PORT
        self.auth_mode = "iam"
        self.security_group_id = sg.id
        self.replication_group_id = group.id
        self.replication_group_arn = group.arn
        self.app_user_id = app_user.user_id
        self.app_user_arn = app_user.arn
        self.engine = args.engine
        self.node_ids = node_ids(args, group_id)
        self.register_outputs(
            {
                "primary_endpoint": self.primary_endpoint,
                "reader_endpoint": self.reader_endpoint,
                "port": self.port,
                "auth_mode": self.auth_mode,
                "security_group_id": self.security_group_id,
                "replication_group_id": self.replication_group_id,
                "replication_group_arn": self.replication_group_arn,
                "app_user_id": self.app_user_id,
                "app_user_arn": self.app_user_arn,
                "engine": self.engine,
                "node_ids": self.node_ids,
            }
        )
