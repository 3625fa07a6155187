"""An ignore_changes path in snake_case below the top level: Pulumi would skip it silently."""

import pulumi
import pulumi_aws as aws

provider = aws.Provider("aws", region="eu-west-1")
aws.ec2.LaunchTemplate(
    "nodes",
    metadata_options={"http_tokens": "required"},
    opts=pulumi.ResourceOptions(
        providers=[provider], ignore_changes=["metadataOptions.http_tokens", "metadataOptions.httpTokens"]
    ),
)
