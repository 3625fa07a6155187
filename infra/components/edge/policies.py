"""Pure decisions of the edge: bucket policies, managed ids, header lists. Tested table-style."""

from __future__ import annotations

from typing import Any

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
"""AWS managed cache policy ``Managed-CachingDisabled``: every request goes to the origin."""

CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
CLOUDFRONT_HOSTED_ZONE_ID = "Z2FDTNDATAQYW2"
"""The Route 53 zone every CloudFront distribution's alias target lives in."""
CLOUDFRONT_LOG_DELIVERY_CANONICAL_ID = "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"
"""The ``awslogsdelivery`` account that writes CloudFront standard (legacy) logs through bucket ACLs."""

API_ORIGIN_HEADERS = ("Accept", "Accept-Language", "Content-Type", "Idempotency-Key", "Origin", "X-Request-Id")
"""Viewer headers the API reads. ``Idempotency-Key`` makes retried POSTs safe; ``Host`` is not
forwarded, so the ALB sees the origin name its certificate covers."""

AUTHORIZATION = "Authorization"
"""The bearer token: forwarded on ``/api/*`` only, through that behaviour's cache policy."""

API_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
CACHED_METHODS = ("GET", "HEAD")

ALB_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 and 1.2 with forward-secret ciphers only."""
VIEWER_MIN_TLS = "TLSv1.2_2021"

# Elastic Load Balancing's log-delivery account in regions opened before August 2022; newer regions
# grant the ``logdelivery.elasticloadbalancing.amazonaws.com`` service principal instead.
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}
ELB_LOG_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def elb_log_principal(region: str, partition: str = "aws") -> dict[str, str]:
    """Who writes ALB access logs in ``region``: the regional ELB account, or the service principal."""
    account = ELB_LOG_ACCOUNTS.get(region)
    if account:
        return {"AWS": f"arn:{partition}:iam::{account}:root"}
    return {"Service": ELB_LOG_SERVICE}


def tls_only_statement(bucket_arn: str) -> dict[str, Any]:
    """Deny any request to the bucket that does not use TLS (S3.5)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def alb_log_bucket_policy(
    bucket_arn: str, account_id: str, region: str, *, prefix: str, partition: str = "aws"
) -> dict[str, Any]:
    """TLS only, and the region's ELB log delivery may write under ``<prefix>/AWSLogs/<account>/``."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            tls_only_statement(bucket_arn),
            {
                "Sid": "ElbLogDelivery",
                "Effect": "Allow",
                "Principal": elb_log_principal(region, partition),
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{prefix}/AWSLogs/{account_id}/*",
            },
        ],
    }


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """TLS only; CloudFront's log delivery writes through the bucket ACL, not the policy."""
    return {"Version": "2012-10-17", "Statement": [tls_only_statement(bucket_arn)]}


def site_bucket_policy(bucket_arn: str, distribution_arn: str) -> dict[str, Any]:
    """TLS only, and reads by this distribution alone (Origin Access Control signs as CloudFront)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            tls_only_statement(bucket_arn),
            {
                "Sid": "CloudFrontReadsThroughOriginAccessControl",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            },
        ],
    }
