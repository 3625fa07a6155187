"""CloudFront rules: viewer and origin TLS, WAF, logging, certificates, and S3 origins behind OAC.

Origins: CloudFront.9/.10 judge ``customOriginConfig`` origins on the distribution and also the
``aws:cloudfront/vpcOrigin:VpcOrigin`` resources, whose endpoint config holds the protocol settings
for a VPC origin (the internal ALB). Logging (CloudFront.5) is a stack rule, because the current
way to log (standard logging v2) is a separate CloudWatch log-delivery source naming the distribution.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from infra.policies.rules._rule import Control, Problems, get, items, of_type, resource_rule, stack_rule
from infra.policies.rules.elb import LoadBalancers

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
VPC_ORIGIN = "aws:cloudfront/vpcOrigin:VpcOrigin"
LOG_DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"

CLOUDFRONT_9 = Control("CloudFront.9", "CloudFront distributions should encrypt traffic to custom origins")

HTTPS_VIEWER_POLICIES = ("redirect-to-https", "https-only")
DEPRECATED_ORIGIN_PROTOCOLS = ("SSLv3", "TLSv1", "TLSv1.1")
RECOMMENDED_VIEWER_POLICIES = ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")


def _behaviors(props: Mapping[str, Any]) -> list[Any]:
    return items(get(props, "defaultCacheBehavior")) + items(get(props, "orderedCacheBehaviors"))


def _custom_certificate(props: Mapping[str, Any]) -> bool:
    cert = get(props, "viewerCertificate", default={})
    return bool(get(cert, "acmCertificateArn") or get(cert, "iamCertificateId"))


def viewer_https_problems(props: Mapping[str, Any]) -> Problems:
    return [
        f"cache behavior {get(b, 'pathPattern', default='default')!r} lets viewers use HTTP "
        f"(viewer_protocol_policy={get(b, 'viewerProtocolPolicy')!r})"
        for b in _behaviors(props)
        if get(b, "viewerProtocolPolicy") not in HTTPS_VIEWER_POLICIES
    ]


def waf_problems(props: Mapping[str, Any]) -> Problems:
    return [] if get(props, "webAclId") else ["no WAF web ACL is associated"]


def custom_certificate_problems(props: Mapping[str, Any]) -> Problems:
    """CloudFront.7: a distribution serving its own domain names (aliases) uses its own certificate."""
    if not items(get(props, "aliases")) or _custom_certificate(props):
        return []
    return ["it serves custom domain names (aliases) with the default CloudFront certificate"]


def sni_problems(props: Mapping[str, Any]) -> Problems:
    if not _custom_certificate(props):
        return []
    method = get(props, "viewerCertificate", "sslSupportMethod", default="sni-only")
    return [] if method == "sni-only" else [f"ssl_support_method is {method!r}, not 'sni-only'"]


def viewer_tls_policy_problems(props: Mapping[str, Any]) -> Problems:
    """CloudFront.15: with a custom certificate, viewers must use a recommended TLS security policy.

    With the default *.cloudfront.net certificate CloudFront only offers TLSv1, so the control
    cannot apply (Security Hub does not assess it either).
    """
    if not _custom_certificate(props):
        return []
    policy = get(props, "viewerCertificate", "minimumProtocolVersion", default="TLSv1")
    return [] if policy in RECOMMENDED_VIEWER_POLICIES else [f"minimum viewer TLS policy is {policy!r}"]


def _origin_protocol_problems(where: str, policy: Any, viewers_https: bool) -> Problems:
    if policy == "http-only":
        return [f"{where} is reached over plain HTTP (origin_protocol_policy='http-only')"]
    if policy == "match-viewer" and not viewers_https:
        return [f"{where} uses 'match-viewer' while a cache behavior allows HTTP viewers"]
    return []


def origin_encryption_problems(props: Mapping[str, Any]) -> Problems:
    """CloudFront.9 for a distribution's custom origins."""
    viewers_https = not viewer_https_problems(props)
    problems: Problems = []
    for origin in items(get(props, "origins")):
        config = get(origin, "customOriginConfig")
        if config is not None:
            where = f"origin {get(origin, 'originId')!r}"
            problems += _origin_protocol_problems(where, get(config, "originProtocolPolicy"), viewers_https)
    return problems


def vpc_origin_encryption_problems(resources: Sequence[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    """CloudFront.9 for VPC origins: https-only once the target ALB has a certificate (an HTTPS listener).

    Without a certificate the origin can only speak HTTP; that is accepted for an internal ALB
    (see elb.py), which ``elb-1-alb-without-certificate`` reports as advisory.
    """
    lbs = LoadBalancers(resources)
    for origin in of_type(resources, VPC_ORIGIN):
        policy = get(origin.props, "vpcOriginEndpointConfig", "originProtocolPolicy")
        if policy == "https-only":
            continue
        lb = lbs.by_arn.get(get(origin.props, "vpcOriginEndpointConfig", "arn"))
        if lb is None:
            yield origin, f"origin_protocol_policy={policy!r} towards a load balancer outside this stack"
        elif lbs.has_tls(lb):
            yield origin, f"origin_protocol_policy={policy!r} although the ALB has an HTTPS listener"
        elif not get(lb.props, "internal", default=False):
            yield origin, f"origin_protocol_policy={policy!r} towards an internet-facing ALB"


def origin_protocol_problems(props: Mapping[str, Any]) -> Problems:
    """CloudFront.10: no SSLv3 (the control) nor TLS 1.0/1.1 (deprecated by RFC 8996) towards origins."""
    problems: Problems = []
    for origin in items(get(props, "origins")):
        protocols = list(get(origin, "customOriginConfig", "originSslProtocols", default=[]))
        bad = [p for p in protocols if p in DEPRECATED_ORIGIN_PROTOCOLS]
        if bad:
            problems.append(f"origin {get(origin, 'originId')!r} allows {bad}")
    return problems


def vpc_origin_protocol_problems(props: Mapping[str, Any]) -> Problems:
    protocols = list(get(props, "vpcOriginEndpointConfig", "originSslProtocols", "items", default=[]))
    bad = [p for p in protocols if p in DEPRECATED_ORIGIN_PROTOCOLS]
    return [f"the VPC origin allows {bad}"] if bad else []


def origin_access_control_problems(props: Mapping[str, Any]) -> Problems:
    """CloudFront.13: an S3 origin (neither custom nor VPC) is read through origin access control."""
    problems = []
    for origin in items(get(props, "origins")):
        if get(origin, "customOriginConfig") or get(origin, "vpcOriginConfig"):
            continue
        where = f"S3 origin {get(origin, 'originId')!r}"
        if get(origin, "s3OriginConfig", "originAccessIdentity"):
            problems.append(f"{where} uses a legacy origin access identity")
        elif not get(origin, "originAccessControlId"):
            problems.append(f"{where} has no origin access control, so its bucket would have to be public")
    return problems


def logging_problems(resources: Sequence[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    """CloudFront.5: legacy standard logging to S3, or a v2 log-delivery source for the distribution."""
    sources = {
        get(s.props, "resourceArn")
        for s in of_type(resources, LOG_DELIVERY_SOURCE)
        if get(s.props, "logType") == "ACCESS_LOGS"
    }
    for dist in of_type(resources, DISTRIBUTION):
        if get(dist.props, "loggingConfig", "bucket"):
            continue
        if get(dist.props, "arn") in sources:
            continue
        yield dist, "access logging is off (no logging_config bucket and no ACCESS_LOGS delivery source)"


POLICIES = [
    resource_rule(
        "cloudfront-3-viewer-https",
        Control("CloudFront.3", "CloudFront distributions should require encryption in transit"),
        [DISTRIBUTION],
        viewer_https_problems,
        'set viewer_protocol_policy="redirect-to-https" (or "https-only") on every cache behavior of the '
        "aws.cloudfront.Distribution",
    ),
    stack_rule(
        "cloudfront-5-logging",
        Control("CloudFront.5", "CloudFront distributions should have logging enabled"),
        logging_problems,
        "add an aws.cloudwatch.LogDeliverySource (log_type ACCESS_LOGS, resource_arn=distribution.arn) with a "
        "delivery, or logging_config on the aws.cloudfront.Distribution",
    ),
    resource_rule(
        "cloudfront-6-waf-enabled",
        Control("CloudFront.6", "CloudFront distributions should have WAF enabled"),
        [DISTRIBUTION],
        waf_problems,
        "set web_acl_id=web_acl.arn (a CLOUDFRONT-scope aws.wafv2.WebAcl) on the aws.cloudfront.Distribution",
    ),
    resource_rule(
        "cloudfront-7-custom-certificate",
        Control("CloudFront.7", "CloudFront distributions should use custom SSL/TLS certificates"),
        [DISTRIBUTION],
        custom_certificate_problems,
        "set viewer_certificate.acm_certificate_arn (a us-east-1 ACM certificate) on the aws.cloudfront.Distribution",
        why="Applies when the distribution has aliases (custom domain names).",
    ),
    resource_rule(
        "cloudfront-8-sni",
        Control("CloudFront.8", "CloudFront distributions should use SNI to serve HTTPS requests"),
        [DISTRIBUTION],
        sni_problems,
        'set viewer_certificate.ssl_support_method="sni-only" on the aws.cloudfront.Distribution',
    ),
    resource_rule(
        "cloudfront-9-origin-encryption",
        CLOUDFRONT_9,
        [DISTRIBUTION],
        origin_encryption_problems,
        'set origin_protocol_policy="https-only" on the custom_origin_config of the aws.cloudfront.Distribution',
    ),
    stack_rule(
        "cloudfront-9-vpc-origin-encryption",
        CLOUDFRONT_9,
        vpc_origin_encryption_problems,
        'set vpc_origin_endpoint_config.origin_protocol_policy="https-only" on the aws.cloudfront.VpcOrigin',
        why="Stack check: VPC origins are held to https-only once their ALB has a certificate.",
    ),
    resource_rule(
        "cloudfront-10-no-deprecated-origin-tls",
        Control(
            "CloudFront.10",
            "CloudFront distributions should not use deprecated SSL protocols between edge locations and custom origins",
        ),
        [DISTRIBUTION, VPC_ORIGIN],
        {DISTRIBUTION: origin_protocol_problems, VPC_ORIGIN: vpc_origin_protocol_problems},
        'set origin_ssl_protocols=["TLSv1.2"] on the custom origin config / the aws.cloudfront.VpcOrigin',
        why="Stricter than the control: TLS 1.0 and 1.1 (deprecated by RFC 8996) are rejected as well as SSLv3.",
    ),
    resource_rule(
        "cloudfront-13-origin-access-control",
        Control("CloudFront.13", "CloudFront distributions should use origin access control"),
        [DISTRIBUTION],
        origin_access_control_problems,
        "create an aws.cloudfront.OriginAccessControl (origin type s3, signing always, sigv4) and set "
        "origin_access_control_id on the S3 origin of the aws.cloudfront.Distribution",
    ),
    resource_rule(
        "cloudfront-15-recommended-tls-policy",
        Control("CloudFront.15", "CloudFront distributions should use the recommended TLS security policy"),
        [DISTRIBUTION],
        viewer_tls_policy_problems,
        'set viewer_certificate.minimum_protocol_version="TLSv1.2_2021" (or a newer _2025 policy) on the '
        "aws.cloudfront.Distribution",
        why="Applies with a custom certificate; the default *.cloudfront.net certificate only offers TLSv1.",
    ),
]
