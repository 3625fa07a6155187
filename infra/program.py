"""Compose the stack from its components, as the stack configuration says."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.components.app import AppDeployment
from infra.components.cache import RedisCache
from infra.components.database import PostgresDatabase, shard_name
from infra.components.edge import Edge
from infra.components.eks import EksCluster
from infra.components.identity import Identity
from infra.components.kafka import KafkaCluster
from infra.components.network import Network
from infra.components.observability import Observability
from infra.naming import stack_name
from infra.settings import settings_from_pulumi


def main() -> None:
    settings = settings_from_pulumi()

    # Every AWS resource goes through this provider, so every taggable one carries the
    # stack's tags without a component having to remember them.
    provider = aws.Provider("aws", region=settings.region, default_tags={"tags": settings.default_tags()})
    opts = pulumi.ResourceOptions(providers=[provider])

    cluster_name = stack_name()
    network = Network("network", settings.network, cluster_name=cluster_name, opts=opts)
    eks = EksCluster(
        "eks",
        settings.eks,
        network=network,
        cluster_name=cluster_name,
        owner_tags={k: settings.default_tags()[k] for k in ("project", "environment", "managed-by")},
        opts=opts,
    )

    # CloudFront's certificate and WAF web ACL exist only in us-east-1; same default tags.
    us_east_1 = aws.Provider("aws-us-east-1", region="us-east-1", default_tags={"tags": settings.default_tags()})
    edge = Edge("edge", settings.edge, network=network, us_east_1=us_east_1, opts=opts)
    # Sign-in returns to the site's own domain, so the pool follows the edge.
    identity = Identity("identity", settings.identity, site_url=edge.url, region=settings.region, opts=opts)

    pulumi.export("region", settings.region)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("availabilityZones", network.availability_zones)
    pulumi.export("publicSubnetIds", network.public_subnet_ids)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("isolatedSubnetIds", network.isolated_subnet_ids)

    # Data tier (issue #8). Clients are admitted by security group only: the EKS nodes' group,
    # since pods use the node security group (no security groups for pods).
    data_clients: list[pulumi.Input[str]] = [eks.node_security_group_id]
    protect = settings.protect_stateful_resources
    # One PostgresDatabase per shard. The first keeps the names a one-shard stack always had,
    # so raising `shards` adds instances and replaces none.
    shards = [
        PostgresDatabase(
            "database" if index == 0 else f"database-{shard_name(index)}",
            settings.database,
            network=network,
            allowed_security_group_ids=data_clients,
            protect=protect,
            shard=index,
            opts=opts,
        )
        for index in range(settings.database.shards)
    ]
    database = shards[0]
    cache = RedisCache(
        "cache", settings.cache, network=network, allowed_security_group_ids=data_clients, protect=protect, opts=opts
    )
    kafka = KafkaCluster(
        "kafka", settings.kafka, network=network, allowed_security_group_ids=data_clients, protect=protect, opts=opts
    )
    pulumi.export("databaseWriterEndpoint", database.writer_endpoint)
    pulumi.export("databaseReaderEndpoints", database.reader_endpoints)
    pulumi.export(
        "databaseShards",
        [
            {
                "name": shard.shard_name,
                "writerEndpoint": shard.writer_endpoint,
                "readerEndpoints": shard.reader_endpoints,
            }
            for shard in shards
        ],
    )
    pulumi.export("cacheEndpoint", cache.primary_endpoint)
    pulumi.export("kafkaBootstrapBrokersIam", kafka.bootstrap_brokers_iam)
    pulumi.export("albSecurityGroupId", edge.alb_security_group_id)
    pulumi.export("apiTargetGroupArn", edge.target_group_arn)
    pulumi.export("cdnDomainName", edge.distribution_domain_name)
    pulumi.export("siteBucket", edge.site_bucket)
    pulumi.export("url", edge.url)
    pulumi.export("userPoolId", identity.user_pool_id)
    pulumi.export("authIssuer", identity.issuer)
    pulumi.export("authClientId", identity.client_id)
    pulumi.export("signInDomain", identity.hosted_ui_domain)
    pulumi.export("clusterName", eks.cluster_name)
    pulumi.export("clusterEndpoint", eks.endpoint)
    pulumi.export("kubernetesVersion", eks.kubernetes_version)
    pulumi.export("oidcProviderArn", eks.oidc_provider_arn)
    pulumi.export("nodeSecurityGroupId", eks.node_security_group_id)
    pulumi.export("clusterSecurityGroupId", eks.cluster_security_group_id)

    # The sample app, when the stack configures it.
    app = None
    if settings.app is not None:
        app = AppDeployment(
            "app",
            settings.app,
            network=network,
            cluster=eks,
            database=database,
            cache=cache,
            kafka=kafka,
            edge=edge,
            identity=identity,
            vpc_endpoints=settings.network.vpc_endpoints,
            shards=shards,
            opts=opts,
        )
        pulumi.export("appNamespace", app.namespace)
        pulumi.export("appRepositoryUrl", app.repository_url)
        pulumi.export("appImage", app.image)

    # Alarms on every tier, their topic and the dashboard.
    observability = Observability(
        "observability",
        settings.observability,
        databases=shards,
        cache=cache,
        kafka=kafka,
        edge=edge,
        cluster=eks,
        app=app,
        us_east_1=us_east_1,
        opts=opts,
    )
    pulumi.export("alarmTopicArn", observability.topic_arn)
    pulumi.export("dashboardName", observability.dashboard_name)
