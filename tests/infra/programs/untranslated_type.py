"""A program using an AWS type the engine has no translator for."""

import pulumi
import pulumi_aws as aws

provider = aws.Provider("aws", region="eu-west-1", default_tags={"tags": {"project": "webscale"}})
aws.sqs.Queue("jobs", opts=pulumi.ResourceOptions(provider=provider))
pulumi.export("answer", 42)
