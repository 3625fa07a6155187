"""An object uploaded after its bucket's TLS-only policy exists (which moto would enforce without
the policy's condition), and the policy itself, which must survive the upload."""

import json

import pulumi
import pulumi_aws as aws

provider = aws.Provider("aws", region="eu-west-1")
opts = pulumi.ResourceOptions(providers=[provider])
bucket = aws.s3.Bucket("site", bucket="webscale-offline-tls-only", opts=opts)
policy = aws.s3.BucketPolicy(
    "site",
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
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        )
    ),
    opts=opts,
)
aws.s3.BucketObjectv2(
    "page",
    bucket=bucket.id,
    key="index.html",
    content="<!doctype html>",
    content_type="text/html; charset=utf-8",
    cache_control="public, max-age=60",
    opts=pulumi.ResourceOptions(providers=[provider], depends_on=[policy]),
)
