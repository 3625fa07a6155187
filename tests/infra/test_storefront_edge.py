"""The storefront at the edge: a private bucket behind CloudFront (OAC), per-path caching, the CSP."""

from __future__ import annotations

import json
from typing import Any

from app.web.site import CONTENT_SECURITY_POLICY, IMMUTABLE, INDEX, SHORT, build
from infra.components.edge.cdn import ORIGIN_ID
from infra.components.edge.policies import site_bucket_policy
from infra.offline.model import Resource, StackRun
from tests.infra.test_edge import BUCKET, DIST, behaviors, bucket_config

OAC = "aws:cloudfront/originAccessControl:OriginAccessControl"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
CACHE_POLICY = "aws:cloudfront/cachePolicy:CachePolicy"
YEAR = 31_536_000


def site_bucket(run: StackRun) -> Resource:
    return run.by_id(BUCKET, run.outputs["siteBucket"])


def origins(run: StackRun) -> dict[str, dict[str, Any]]:
    return {o["originId"]: o for o in run.one(DIST)["origins"]}


def cache_policy(run: StackRun, behavior: dict[str, Any]) -> Resource:
    return run.by_id(CACHE_POLICY, behavior["cachePolicyId"])


def test_page_and_static_paths_come_from_the_bucket_through_oac(each_stack: StackRun):
    found = behaviors(each_stack)
    bucket_origin = origins(each_stack)[found["*"]["targetOriginId"]]
    assert found["/static/*"]["targetOriginId"] == found["*"]["targetOriginId"]
    assert bucket_origin["domainName"] == site_bucket(each_stack)["bucketRegionalDomainName"]
    assert bucket_origin["originAccessControlId"] == each_stack.one(OAC).id
    assert "customOriginConfig" not in bucket_origin and "vpcOriginConfig" not in bucket_origin


def test_api_paths_still_go_to_the_alb(each_stack: StackRun):
    api = behaviors(each_stack)["/api/*"]
    assert api["targetOriginId"] == ORIGIN_ID
    assert "vpcOriginConfig" in origins(each_stack)[ORIGIN_ID]


def test_root_serves_index_html(each_stack: StackRun):
    assert each_stack.one(DIST)["defaultRootObject"] == INDEX


def test_oac_signs_every_request_to_s3(each_stack: StackRun):
    oac = each_stack.one(OAC)
    assert (oac["originAccessControlOriginType"], oac["signingBehavior"], oac["signingProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )


def test_hashed_assets_are_cached_a_year_at_the_edge(each_stack: StackRun):
    policy = cache_policy(each_stack, behaviors(each_stack)["/static/*"])
    assert policy["defaultTtl"] == YEAR and policy["maxTtl"] == YEAR
    assert policy["minTtl"] >= 86_400, "a short minimum would refetch files that never change"


def test_the_page_is_cached_briefly_at_the_edge(each_stack: StackRun):
    policy = cache_policy(each_stack, behaviors(each_stack)["*"])
    assert policy["minTtl"] == 0 and policy["defaultTtl"] <= 60 and policy["maxTtl"] <= 300


def test_storefront_cache_keys_ignore_cookies_and_query_strings(each_stack: StackRun):
    found = behaviors(each_stack)
    for path in ("*", "/static/*"):
        key = cache_policy(each_stack, found[path])["parametersInCacheKeyAndForwardedToOrigin"]
        assert key["cookiesConfig"]["cookieBehavior"] == "none", path
        assert key["queryStringsConfig"]["queryStringBehavior"] == "none", path
        assert key["enableAcceptEncodingGzip"] and key["enableAcceptEncodingBrotli"], path


def test_responses_carry_the_storefronts_csp(each_stack: StackRun):
    config = each_stack.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")["securityHeadersConfig"]
    csp = config["contentSecurityPolicy"]
    assert csp["contentSecurityPolicy"] == CONTENT_SECURITY_POLICY and csp["override"] is True
    directives = dict(d.split(" ", 1) for d in csp["contentSecurityPolicy"].split("; "))
    assert directives["default-src"] == "'self'" and directives["connect-src"] == "'self'"
    assert "unsafe" not in csp["contentSecurityPolicy"]


def test_site_bucket_is_private_and_encrypted(each_stack: StackRun):
    bucket = site_bucket(each_stack)
    block = bucket_config(each_stack, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block[key] is True, f"{bucket.name}: {key} is off"
    ownership = bucket_config(each_stack, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced", "ACLs could make objects public"
    assert not [a for a in each_stack.of_type("aws:s3/bucketAcl:BucketAcl") if a["bucket"] == bucket.id]
    sse = bucket_config(
        each_stack, bucket, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


def test_site_bucket_policy_lets_only_this_distribution_read(each_stack: StackRun):
    bucket = site_bucket(each_stack)
    policy = json.loads(bucket_config(each_stack, bucket, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "CloudFrontReadsThroughOriginAccessControl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{bucket['arn']}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": each_stack.one(DIST)["arn"]}},
        }
    ]
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_site_bucket_policy_names_the_distribution_it_is_given():
    policy = site_bucket_policy("arn:aws:s3:::site", "arn:aws:cloudfront::1:distribution/D1")
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Condition"]["StringEquals"]["AWS:SourceArn"] == "arn:aws:cloudfront::1:distribution/D1"
    assert allow["Resource"] == "arn:aws:s3:::site/*", "reads only: no ListBucket, no writes"


def test_every_built_asset_is_uploaded_with_its_type_and_cache_control(each_stack: StackRun):
    bucket = site_bucket(each_stack)
    stored = {o["key"]: o for o in each_stack.of_type(OBJECT) if o["bucket"] == bucket.id}
    built = {a.path: a for a in build()}
    assert set(stored) == set(built)
    for path, asset in built.items():
        # contentType and cacheControl are what moto stored, read back with HeadObject.
        assert stored[path]["contentType"] == asset.content_type, path
        assert stored[path]["cacheControl"] == (SHORT if path == INDEX else IMMUTABLE), path


def test_index_is_written_after_the_assets_it_names(each_stack: StackRun):
    bucket = site_bucket(each_stack)
    objects = [o for o in each_stack.of_type(OBJECT) if o["bucket"] == bucket.id]
    index = next(o for o in objects if o["key"] == INDEX)
    assert {o.urn for o in objects if o is not index} <= set(index.dependencies)
