"""ignore_changes on a top-level property the program does not set: allowed."""

import pulumi
import pulumi_aws as aws

provider = aws.Provider("aws", region="eu-west-1")
aws.ec2.Vpc("v", cidr_block="10.0.0.0/16", opts=pulumi.ResourceOptions(provider=provider, ignore_changes=["tags"]))
