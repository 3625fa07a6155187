"""The data tier with two client security groups, to see that each is admitted and nothing else."""

import pulumi
import pulumi_aws as aws

from infra.components.cache import RedisCache
from infra.components.database import PostgresDatabase
from infra.components.kafka import KafkaCluster
from infra.components.network import Network
from infra.settings import settings_from_pulumi

settings = settings_from_pulumi()
provider = aws.Provider("aws", region=settings.region, default_tags={"tags": settings.default_tags()})
opts = pulumi.ResourceOptions(providers=[provider])
network = Network("network", settings.network, opts=opts)
clients = [
    aws.ec2.SecurityGroup(f"client-{i}", vpc_id=network.vpc_id, description=f"client {i}", opts=opts) for i in range(2)
]
data = dict(network=network, allowed_security_group_ids=[c.id for c in clients], protect=False)
PostgresDatabase("database", settings.database, **data, opts=opts)
RedisCache("cache", settings.cache, **data, opts=opts)
KafkaCluster("kafka", settings.kafka, **data, opts=opts)
pulumi.export("clientGroupIds", [c.id for c in clients])
