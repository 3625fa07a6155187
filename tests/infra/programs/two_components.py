"""A program with two components, one resource each."""

import pulumi
import pulumi_aws as aws

provider = aws.Provider("aws", region="eu-west-1", default_tags={"tags": {"project": "webscale"}})


class Box(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("test:index:Box", name)
        aws.s3.Bucket(f"{name}-bucket", opts=pulumi.ResourceOptions(parent=self, provider=provider))
        self.register_outputs({})


Box("first")
Box("second")
