"""A program with deliberate mistakes the offline engine must catch, chosen by PROGRAM_MISTAKE:
``mfa`` (MFA ON with no factor to enrol), ``callback`` (a plain-HTTP callback URL) or
``authorization`` (Authorization in an origin request policy, which CloudFront refuses)."""

import os

import pulumi
import pulumi_aws as aws

provider = aws.Provider("aws", region="eu-west-1", default_tags={"tags": {"project": "webscale"}})
opts = pulumi.ResourceOptions(provider=provider)
mistake = os.environ["PROGRAM_MISTAKE"]
pool = aws.cognito.UserPool(
    "users",
    name="users",
    mfa_configuration="ON" if mistake == "mfa" else "OFF",
    opts=opts,
)
aws.cognito.UserPoolClient(
    "web",
    name="web",
    user_pool_id=pool.id,
    callback_urls=["http://shop.example.com/cb" if mistake == "callback" else "https://shop.example.com/cb"],
    opts=opts,
)
if mistake == "authorization":
    aws.cloudfront.OriginRequestPolicy(
        "forwards-bearer",
        name="forwards-bearer",
        headers_config={"header_behavior": "whitelist", "headers": {"items": ["Authorization"]}},
        cookies_config={"cookie_behavior": "none"},
        query_strings_config={"query_string_behavior": "none"},
        opts=opts,
    )
