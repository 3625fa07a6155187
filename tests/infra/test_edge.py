"""The edge: WAF -> CloudFront -> VPC origin -> internal ALB; what each stack builds and refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.components.edge.cdn import ORIGIN_ID
from infra.components.edge.policies import (
    ELB_LOG_SERVICE,
    alb_log_bucket_policy,
    elb_log_principal,
)
from infra.offline.engine import load_stack_config
from infra.offline.model import Resource, StackRun
from infra.settings import SettingsError, load_settings

LB = "aws:lb/loadBalancer:LoadBalancer"
DIST = "aws:cloudfront/distribution:Distribution"
ACL = "aws:wafv2/webAcl:WebAcl"
BUCKET = "aws:s3/bucket:Bucket"


def behaviors(run: StackRun) -> dict[str, dict[str, Any]]:
    """Every cache behaviour by path pattern; ``*`` is the default."""
    dist = run.one(DIST)
    found = {b["pathPattern"]: b for b in dist["orderedCacheBehaviors"]}
    found["*"] = dist["defaultCacheBehavior"]
    return found


def bucket_config(run: StackRun, bucket: Resource, type_: str) -> Resource:
    found = [r for r in run.of_type(type_) if r["bucket"] == bucket.id]
    assert len(found) == 1, f"bucket {bucket.name} has {len(found)} {type_}"
    return found[0]


# -- reachability: only CloudFront, through a VPC origin, reaches the ALB ---------------------------


def test_alb_is_internal_in_private_subnets(each_stack: StackRun):
    alb = each_stack.one(LB)
    assert alb["internal"] is True, f"{alb.name} is internet-facing in {each_stack.stack}"
    private = set(each_stack.outputs["privateSubnetIds"])
    assert set(alb["subnets"]) == private, f"{alb.name} is not in the private subnets"


def test_cloudfront_reaches_the_alb_only_through_a_vpc_origin(each_stack: StackRun):
    alb = each_stack.one(LB)
    vpc_origin = each_stack.one("aws:cloudfront/vpcOrigin:VpcOrigin")
    assert vpc_origin["vpcOriginEndpointConfig"]["arn"] == alb["arn"], "the VPC origin does not point at the ALB"
    origins = each_stack.one(DIST)["origins"]
    (origin,) = [o for o in origins if o["originId"] == ORIGIN_ID]
    assert origin["vpcOriginConfig"]["vpcOriginId"] == vpc_origin.id
    assert not [o for o in origins if "customOriginConfig" in o], "a public custom origin would bypass the VPC origin"


def test_alb_admits_cloudfront_once_on_the_one_port_it_uses(run_of):
    """A prefix-list reference weighs 55 rules against a group's default limit of 60."""
    for stack, port in (("dev", 80), ("prod", 443)):
        run = run_of(stack)
        sg_id = run.outputs["albSecurityGroupId"]
        rules = [
            r
            for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            if r["securityGroupId"] == sg_id
        ]
        assert [(r["fromPort"], r["toPort"]) for r in rules] == [(port, port)], stack


def test_alb_security_group_admits_only_cloudfront_and_reaches_only_pods(each_stack: StackRun):
    sg_id = each_stack.outputs["albSecurityGroupId"]
    ingress = [
        r
        for r in each_stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == sg_id
    ]
    assert ingress, "the ALB admits nothing"
    for rule in ingress:
        assert rule["prefixListId"].startswith("pl-") and not rule.get("cidrIpv4"), f"{rule.name} admits a CIDR"
    egress = [
        r
        for r in each_stack.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r["securityGroupId"] == sg_id
    ]
    assert [(r["fromPort"], r["toPort"], r["cidrIpv4"]) for r in egress] == [
        (8000, 8000, each_stack.one("aws:ec2/vpc:Vpc")["cidrBlock"])
    ]


# -- ALB ------------------------------------------------------------------------------------------


def test_alb_is_hardened(each_stack: StackRun):
    alb = each_stack.one(LB)
    assert alb["dropInvalidHeaderFields"] is True
    assert alb["desyncMitigationMode"] in ("defensive", "strictest")
    logs = alb["accessLogs"]
    assert logs["enabled"] is True and logs["bucket"] in {b.id for b in each_stack.of_type(BUCKET)}


def test_target_group_targets_pod_ips_on_8000_with_readiness_checks(each_stack: StackRun):
    tg = each_stack.one("aws:lb/targetGroup:TargetGroup")
    assert (tg["targetType"], tg["port"], tg["protocol"]) == ("ip", 8000, "HTTP")
    assert tg["healthCheck"]["path"] == "/readyz"
    assert 0 < tg["deregistrationDelay"] < 45, "deregistration must finish within the pods' grace period"
    assert tg["loadBalancingAlgorithmType"] in ("round_robin", "least_outstanding_requests")


def test_prod_terminates_tls_on_the_alb_and_redirects_http(run_of):
    listeners = {r["port"]: r for r in run_of("prod").of_type("aws:lb/listener:Listener")}
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2-")
    assert listeners[443]["certificateArn"].startswith("arn:aws:acm:eu-west-1:")
    (redirect,) = listeners[80]["defaultActions"]
    assert redirect["type"] == "redirect" and redirect["redirect"]["protocol"] == "HTTPS"
    assert (
        run_of("prod").one("aws:cloudfront/vpcOrigin:VpcOrigin")["vpcOriginEndpointConfig"]["originProtocolPolicy"]
        == "https-only"
    )


def test_without_a_domain_the_origin_hop_is_http_inside_the_vpc_origin(run_of):
    dev = run_of("dev")
    assert [r["port"] for r in dev.of_type("aws:lb/listener:Listener")] == [80]
    config = dev.one("aws:cloudfront/vpcOrigin:VpcOrigin")["vpcOriginEndpointConfig"]
    assert config["originProtocolPolicy"] == "http-only"


# -- CloudFront -----------------------------------------------------------------------------------


def test_api_is_not_cached(each_stack: StackRun):
    """The storefront's paths are cached per path: tests/infra/test_storefront_edge.py."""
    api = behaviors(each_stack)["/api/*"]["cachePolicyId"]
    api_cache = each_stack.by_id("aws:cloudfront/cachePolicy:CachePolicy", api)
    assert api_cache["defaultTtl"] == 0, "the API's responses must not be cached unless the API says so"


def test_api_forwards_idempotency_key_query_strings_and_cookies(each_stack: StackRun):
    policy = each_stack.one("aws:cloudfront/originRequestPolicy:OriginRequestPolicy")
    assert behaviors(each_stack)["/api/*"]["originRequestPolicyId"] == policy.id
    assert "Idempotency-Key" in policy["headersConfig"]["headers"]["items"]
    assert policy["queryStringsConfig"]["queryStringBehavior"] == "all"
    assert policy["cookiesConfig"]["cookieBehavior"] == "all"


def test_api_accepts_every_method(each_stack: StackRun):
    methods = set(behaviors(each_stack)["/api/*"]["allowedMethods"])
    assert methods == {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}


def test_every_behaviour_forces_https_compresses_and_sends_security_headers(each_stack: StackRun):
    headers = each_stack.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    for path, b in behaviors(each_stack).items():
        assert b["viewerProtocolPolicy"] == "redirect-to-https", f"{path} lets viewers use HTTP"
        assert b["compress"] is True, f"{path} is not compressed"
        assert b["responseHeadersPolicyId"] == headers.id, f"{path} lacks the security headers"


def test_security_headers_policy(each_stack: StackRun):
    config = each_stack.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")["securityHeadersConfig"]
    hsts = config["strictTransportSecurity"]
    assert hsts["includeSubdomains"] and hsts["preload"] and hsts["accessControlMaxAgeSec"] >= 31536000
    assert config["frameOptions"]["frameOption"] == "DENY"
    assert config["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    assert config["contentTypeOptions"]["override"] and config["xssProtection"]["protection"]


def test_distribution_speaks_http2_and_http3(each_stack: StackRun):
    assert each_stack.one(DIST)["httpVersion"] == "http2and3"


def test_prod_has_its_domain_with_modern_tls_other_stacks_the_default_certificate(each_stack: StackRun):
    dist = each_stack.one(DIST)
    domain = load_settings(load_stack_config(each_stack.stack), project="webscale", stack=each_stack.stack).edge
    if domain.domain_name:
        assert dist["aliases"] == [domain.domain_name]
        cert = dist["viewerCertificate"]
        assert cert["minimumProtocolVersion"] in ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")
        assert cert["acmCertificateArn"].startswith("arn:aws:acm:us-east-1:"), "CloudFront needs a us-east-1 cert"
        assert cert["sslSupportMethod"] == "sni-only"
    else:
        assert dist["viewerCertificate"]["cloudfrontDefaultCertificate"] is True
        assert not dist.get("aliases")


def test_prod_certificates_are_dns_validated_and_the_domain_points_at_cloudfront(run_of):
    prod = run_of("prod")
    certs = prod.of_type("aws:acm/certificate:Certificate")
    assert sorted(c["domainName"] for c in certs) == ["origin.shop.example.com", "shop.example.com"]
    records = prod.of_type("aws:route53/record:Record")
    for cert in certs:
        (option,) = cert["domainValidationOptions"]
        assert any(r["name"].rstrip(".") == option["resourceRecordName"].rstrip(".") for r in records), (
            f"no validation record for {cert['domainName']}"
        )
    aliases = [r for r in records if r["name"] == "shop.example.com"]
    assert sorted(r["type"] for r in aliases) == ["A", "AAAA"]
    assert all(r["aliases"][0]["name"] == prod.one(DIST)["domainName"] for r in aliases)


# -- WAF ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_waf_rate_rule_carries_the_configured_limit(run_of, stack: str):
    config = load_stack_config(stack)["webscale:edge"]
    acl = run_of(stack).one(ACL)
    rate = next(r for r in acl["rules"] if r["name"] == "rate-limit-per-ip")
    statement = rate["statement"]["rateBasedStatement"]
    assert statement["limit"] == config["rateLimit"], f"{stack}: rate limit {statement['limit']}"
    assert statement["aggregateKeyType"] == "IP"
    assert "block" in rate["action"]


def test_waf_is_associated_with_the_distribution(each_stack: StackRun):
    acl = each_stack.one(ACL)
    assert acl["scope"] == "CLOUDFRONT"
    assert each_stack.one(DIST)["webAclId"] == acl["arn"]


def test_waf_uses_the_managed_rule_groups_with_metrics_everywhere(each_stack: StackRun):
    acl = each_stack.one(ACL)
    groups = {
        r["statement"]["managedRuleGroupStatement"]["name"]
        for r in acl["rules"]
        if "managedRuleGroupStatement" in r["statement"]
    }
    assert groups == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    for config in [acl["visibilityConfig"], *(r["visibilityConfig"] for r in acl["rules"])]:
        assert config["cloudwatchMetricsEnabled"] and config["sampledRequestsEnabled"], config["metricName"]


# -- log buckets ----------------------------------------------------------------------------------


def test_log_buckets_are_private_encrypted_and_expire(each_stack: StackRun):
    buckets = [b for b in each_stack.of_type(BUCKET) if b.id != each_stack.outputs["siteBucket"]]
    assert len(buckets) == 2
    for bucket in buckets:
        block = bucket_config(each_stack, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
            assert block[key] is True, f"{bucket.name}: {key} is off"
        sse = bucket_config(
            each_stack, bucket, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
        lifecycle = bucket_config(
            each_stack, bucket, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
        )
        assert lifecycle["rules"][0]["status"] == "Enabled" and lifecycle["rules"][0]["expiration"]["days"] >= 1
        policy = json.loads(bucket_config(each_stack, bucket, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
        deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, f"{bucket.name} allows plain HTTP"


def test_cloudfront_log_bucket_has_acls_for_log_delivery_and_the_alb_bucket_none(each_stack: StackRun):
    dist = each_stack.one(DIST)
    cdn = next(b for b in each_stack.of_type(BUCKET) if b["bucketDomainName"] == dist["loggingConfig"]["bucket"])
    alb = each_stack.by_id(BUCKET, each_stack.one(LB)["accessLogs"]["bucket"])
    ownership = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
    assert bucket_config(each_stack, cdn, ownership)["rule"]["objectOwnership"] == "BucketOwnerPreferred"
    assert bucket_config(each_stack, alb, ownership)["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    acl = bucket_config(each_stack, cdn, "aws:s3/bucketAcl:BucketAcl")
    grantees = {g["grantee"]["id"] for g in acl["accessControlPolicy"]["grants"]}
    assert "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0" in grantees  # awslogsdelivery
    assert all(g["grantee"]["type"] == "CanonicalUser" for g in acl["accessControlPolicy"]["grants"])


def test_alb_log_bucket_lets_the_regional_elb_account_write(each_stack: StackRun):
    alb = each_stack.one(LB)
    bucket = each_stack.by_id(BUCKET, alb["accessLogs"]["bucket"])
    policy = json.loads(bucket_config(each_stack, bucket, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    allow = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert allow["Principal"] == {"AWS": "arn:aws:iam::156460612806:root"}  # eu-west-1's ELB account
    assert allow["Resource"] == f"{bucket['arn']}/{alb['accessLogs']['prefix']}/AWSLogs/123456789012/*"


@pytest.mark.parametrize(
    ("region", "principal"),
    [
        ("eu-west-1", {"AWS": "arn:aws:iam::156460612806:root"}),
        ("us-east-1", {"AWS": "arn:aws:iam::127311923021:root"}),
        ("eu-central-2", {"Service": ELB_LOG_SERVICE}),  # opened after August 2022
        ("ap-southeast-5", {"Service": ELB_LOG_SERVICE}),
    ],
)
def test_elb_log_principal_by_region(region: str, principal: dict[str, str]):
    assert elb_log_principal(region) == principal
    assert alb_log_bucket_policy("arn:aws:s3:::b", "1", region, prefix="p")["Statement"][1]["Principal"] == principal


# -- per-stack differences ------------------------------------------------------------------------


def test_deletion_protection_on_in_prod_off_in_dev(run_of):
    assert run_of("prod").one(LB)["enableDeletionProtection"] is True
    assert run_of("dev").one(LB)["enableDeletionProtection"] is False


def test_price_class_per_stack(run_of):
    assert run_of("prod").one(DIST)["priceClass"] == "PriceClass_All"
    assert run_of("dev").one(DIST)["priceClass"] == "PriceClass_100"


# -- the us-east-1 provider -----------------------------------------------------------------------


def test_us_east_1_resources_carry_the_stack_tags_and_live_in_us_east_1(run_of):
    prod = run_of("prod")
    provider = next(r for r in prod.of_type("pulumi:providers:aws") if r["region"] == "us-east-1")
    on_it = [r for r in prod.resources if r.provider == provider.urn]
    assert {r.type for r in on_it} >= {ACL, "aws:acm/certificate:Certificate"}
    for r in on_it:
        if "tagsAll" in r.outputs:
            assert r["tagsAll"]["environment"] == "prod" and r["tagsAll"]["cost-center"], f"{r.name} is untagged"
        if r.type in (ACL, "aws:acm/certificate:Certificate"):
            assert ":us-east-1:" in r["arn"], f"{r.name} was created in {r['arn']}"
    regional = [r for r in prod.of_type("aws:acm/certificate:Certificate") if r.provider != provider.urn]
    assert [":eu-west-1:" in r["arn"] for r in regional] == [True], "the ALB's certificate belongs in the stack region"


# -- validation -----------------------------------------------------------------------------------

VALID: dict[str, Any] = {"aws:region": "eu-west-1", "webscale:owner": "team", "webscale:costCenter": "cc-1"}


def edge_problems(**edge: Any) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings({**VALID, "webscale:edge": edge}, project="webscale", stack="test")
    return caught.value.problems


@pytest.mark.parametrize(
    ("edge", "key"),
    [
        ({"priceClass": "PriceClass_50"}, "webscale:edge.priceClass"),
        ({"loadBalancingAlgorithm": "random"}, "webscale:edge.loadBalancingAlgorithm"),
        ({"rateLimit": 0}, "webscale:edge.rateLimit"),
        ({"rateLimit": -5}, "webscale:edge.rateLimit"),
        ({"rateLimitWindowSeconds": 30}, "webscale:edge.rateLimitWindowSeconds"),
        ({"domainName": "Shop Example"}, "webscale:edge.domainName"),
    ],
)
def test_bad_edge_values_are_rejected_naming_the_key(edge: dict[str, Any], key: str):
    (problem,) = edge_problems(**edge)
    assert problem.startswith(f"{key} = "), problem


def test_a_domain_without_a_zone_is_rejected():
    (problem,) = edge_problems(domainName="shop.example.com")
    assert problem.startswith("webscale:edge") and "hostedZoneId" in problem and "domainName" in problem


# -- engine: a resource's region ------------------------------------------------------------------


def _resource(urn: str, inputs: dict[str, Any], provider: str | None = None) -> Resource:
    return Resource(urn, "aws:x/y:Y", urn, True, None, provider, None, inputs, {}, "moto")


def test_engine_region_is_the_resources_then_its_providers_then_the_stacks():
    from infra.offline.mocks import OfflineMocks

    mocks = OfflineMocks("eu-west-1")
    east = _resource("urn:east", {"region": "us-east-1"})
    plain = _resource("urn:plain", {})
    mocks._by_urn.update({east.urn: east, plain.urn: plain})
    assert mocks._region_of(_resource("a", {}, provider="urn:east")) == "us-east-1"
    assert mocks._region_of(_resource("b", {}, provider="urn:plain")) == "eu-west-1"
    assert mocks._region_of(_resource("c", {"region": "ap-south-1"}, provider="urn:east")) == "ap-south-1"
