"""Compose the stack from its components, as the stack configuration says."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.components.network import Network
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

    pulumi.export("region", settings.region)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("availabilityZones", network.availability_zones)
    pulumi.export("publicSubnetIds", network.public_subnet_ids)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("isolatedSubnetIds", network.isolated_subnet_ids)
