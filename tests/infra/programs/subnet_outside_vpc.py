"""A program with a deliberate mistake: a subnet whose range lies outside its VPC."""

import pulumi
import pulumi_aws as aws

provider = aws.Provider("aws", region="eu-west-1", default_tags={"tags": {"project": "webscale"}})
vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", opts=pulumi.ResourceOptions(provider=provider))
aws.ec2.Subnet(
    "stray",
    vpc_id=vpc.id,
    cidr_block="192.168.0.0/24",
    availability_zone="eu-west-1a",
    opts=pulumi.ResourceOptions(provider=provider),
)
