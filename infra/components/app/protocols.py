"""What the app deployment needs from the components it is given.

The stack passes the real ``EksCluster``, ``PostgresDatabase``, ``RedisCache``,
``KafkaCluster`` and ``Edge``; these Protocols name the attributes used, so the
component depends on the contract rather than on the classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.components.app.topics import TopicLike


class ClusterLike(Protocol):
    provider: k8s.Provider
    node_security_group_id: pulumi.Output[str]
    kubernetes_version: str
    keda_role: aws.iam.Role

    @property
    def keda_release(self) -> pulumi.Resource:
        """What installs the keda.sh CRDs: ScaledObjects and TriggerAuthentications wait for it."""

    @property
    def lb_controller_release(self) -> pulumi.Resource:
        """What installs the TargetGroupBinding CRD and webhook."""

    def service_account_role(
        self,
        name: str,
        *,
        namespace: str,
        service_account: str,
        policy_documents: Sequence[pulumi.Input[str]] = ...,
        opts: pulumi.ResourceOptions | None = ...,
    ) -> aws.iam.Role: ...


class DatabaseLike(Protocol):
    writer_endpoint: pulumi.Output[str]
    reader_endpoints: list[pulumi.Output[str]]
    port: int
    database_name: str
    primary_resource_id: pulumi.Output[str]
    replica_resource_ids: list[pulumi.Output[str]]
    iam_database_user: str
    master_user_secret_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]


class ShardLike(DatabaseLike, Protocol):
    shard_name: str
    """The name the app's hash ring knows the shard by (s0, s1, ...)."""


class CacheLike(Protocol):
    primary_endpoint: pulumi.Output[str]
    port: int
    replication_group_id: pulumi.Output[str]
    replication_group_arn: pulumi.Output[str]
    app_user_id: pulumi.Output[str]
    app_user_arn: pulumi.Output[str]


class KafkaLike(Protocol):
    cluster_arn: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    bootstrap_brokers_iam: pulumi.Output[str]

    @property
    def topics(self) -> Sequence[TopicLike]: ...


class EdgeLike(Protocol):
    target_group_arn: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]


class IdentityLike(Protocol):
    issuer: pulumi.Output[str]
    client_id: pulumi.Output[str]


class NetworkLike(Protocol):
    vpc_cidr: str
    availability_zones: list[str]


Json = dict[str, Any]
