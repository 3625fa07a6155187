"""A log writer that depends on its bucket but not on the bucket's policy: the rule must see it."""

import json

import pulumi
import pulumi_aws as aws

provider = aws.Provider("aws", region="eu-west-1")
opts = pulumi.ResourceOptions(providers=[provider])
bucket = aws.s3.Bucket("logs", bucket="webscale-test-logs", opts=opts)
policy = aws.s3.BucketPolicy(
    "logs",
    bucket=bucket.id,
    policy=bucket.arn.apply(
        lambda arn: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        )
    ),
    opts=opts,
)
# Waits for the bucket only: the policy may not exist yet when it first writes.
aws.sns.Topic("writer", opts=pulumi.ResourceOptions(providers=[provider], depends_on=[bucket]))
# Waits for the policy as well: fine.
aws.sns.Topic("patient-writer", opts=pulumi.ResourceOptions(providers=[provider], depends_on=[bucket, policy]))
