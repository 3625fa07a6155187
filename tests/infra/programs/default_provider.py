"""A program that forgets the stack's provider, and with it the stack's tags."""

import pulumi_aws as aws

aws.ec2.Vpc("untagged", cidr_block="10.0.0.0/16")
