"""CloudFront distributions, emulated in moto; the policies and VPC origins moto lacks, synthesized."""

from __future__ import annotations

from typing import Any

from infra.offline.registry import Created, Ctx, stable_suffix, synthesized, translator

CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"


def _items(values: list[Any] | None) -> dict[str, Any]:
    values = list(values or [])
    return {"Quantity": len(values), "Items": values} if values else {"Quantity": 0}


def _behavior(b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "TargetOriginId": b["targetOriginId"],
        "ViewerProtocolPolicy": b["viewerProtocolPolicy"],
        "AllowedMethods": {**_items(b["allowedMethods"]), "CachedMethods": _items(b["cachedMethods"])},
        "Compress": bool(b.get("compress")),
        "CachePolicyId": b["cachePolicyId"],
    }
    for key, api in (
        ("originRequestPolicyId", "OriginRequestPolicyId"),
        ("responseHeadersPolicyId", "ResponseHeadersPolicyId"),
    ):
        if b.get(key):
            out[api] = b[key]
    if b.get("pathPattern"):
        out["PathPattern"] = b["pathPattern"]
    return out


def _origin(o: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": o["originId"], "DomainName": o["domainName"]}
    if o.get("originAccessControlId"):
        out["OriginAccessControlId"] = o["originAccessControlId"]
    if o.get("vpcOriginConfig"):
        out["VpcOriginConfig"] = {"VpcOriginId": o["vpcOriginConfig"]["vpcOriginId"]}
    elif o.get("customOriginConfig"):
        c = o["customOriginConfig"]
        out["CustomOriginConfig"] = {
            "HTTPPort": int(c["httpPort"]),
            "HTTPSPort": int(c["httpsPort"]),
            "OriginProtocolPolicy": c["originProtocolPolicy"],
        }
    else:
        # An S3 origin: the provider sends an empty S3OriginConfig when none is given (OAC, no OAI).
        identity = (o.get("s3OriginConfig") or {}).get("originAccessIdentity", "")
        out["S3OriginConfig"] = {"OriginAccessIdentity": identity}
    return out


def _viewer_certificate(v: dict[str, Any]) -> dict[str, Any]:
    if v.get("cloudfrontDefaultCertificate"):
        return {"CloudFrontDefaultCertificate": True}
    return {
        "ACMCertificateArn": v["acmCertificateArn"],
        "SSLSupportMethod": v.get("sslSupportMethod", "sni-only"),
        "MinimumProtocolVersion": v.get("minimumProtocolVersion", "TLSv1.2_2021"),
    }


@translator("aws:cloudfront/distribution:Distribution")
def distribution(ctx: Ctx) -> Created:
    i = ctx.inputs
    ordered = [_behavior(b) for b in i.get("orderedCacheBehaviors") or []]
    config: dict[str, Any] = {
        "CallerReference": ctx.urn,
        "Comment": i.get("comment", ""),
        "Enabled": bool(i["enabled"]),
        "Origins": _items([_origin(o) for o in i["origins"]]),
        "DefaultCacheBehavior": _behavior(i["defaultCacheBehavior"]),
        "CacheBehaviors": _items(ordered),
        "Aliases": _items(i.get("aliases")),
        "PriceClass": i.get("priceClass", "PriceClass_All"),
        "HttpVersion": i.get("httpVersion", "http2"),
        "IsIPV6Enabled": bool(i.get("isIpv6Enabled")),
        "ViewerCertificate": _viewer_certificate(i["viewerCertificate"]),
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
        "WebACLId": i.get("webAclId", ""),
        "DefaultRootObject": i.get("defaultRootObject", ""),
    }
    if i.get("loggingConfig"):
        log = i["loggingConfig"]
        config["Logging"] = {
            "Enabled": True,
            "IncludeCookies": bool(log.get("includeCookies")),
            "Bucket": log["bucket"],
            "Prefix": log.get("prefix", ""),
        }
    d = ctx.client("cloudfront").create_distribution_with_tags(
        DistributionConfigWithTags={"DistributionConfig": config, "Tags": {"Items": ctx.tag_list()}}
    )["Distribution"]
    return Created(
        d["Id"],
        {
            "arn": d["ARN"],
            "domainName": d["DomainName"],
            "hostedZoneId": CLOUDFRONT_ZONE,
            "status": d["Status"],
            "etag": stable_suffix(d["Id"]),
            "callerReference": ctx.urn,
        },
    )


def _cache_policy_outputs(ctx: Ctx) -> dict[str, Any]:
    """Checks what CloudFront checks on CreateCachePolicy, then stands in for it."""
    i = ctx.inputs
    headers = i["parametersInCacheKeyAndForwardedToOrigin"]["headersConfig"]
    ttls = [float(i.get(k, 0)) for k in ("minTtl", "defaultTtl", "maxTtl")]
    if headers.get("headerBehavior", "none") != "none" and not any(ttls):
        raise ValueError("a cache policy with every TTL 0 may not put headers in the cache key")
    return {"etag": stable_suffix(ctx.urn)}


def _origin_request_outputs(ctx: Ctx) -> dict[str, Any]:
    items = (ctx.inputs.get("headersConfig") or {}).get("headers", {}).get("items", [])
    if any(h.lower() == "authorization" for h in items):
        raise ValueError("CloudFront refuses Authorization in an origin request policy: put it in a cache policy")
    return {"etag": stable_suffix(ctx.urn)}


@translator("aws:cloudfront/originAccessControl:OriginAccessControl")
def origin_access_control(ctx: Ctx) -> Created:
    i = ctx.inputs
    control = ctx.client("cloudfront").create_origin_access_control(
        OriginAccessControlConfig={
            "Name": i["name"],
            "Description": i.get("description", ""),
            "SigningProtocol": i["signingProtocol"],
            "SigningBehavior": i["signingBehavior"],
            "OriginAccessControlOriginType": i["originAccessControlOriginType"],
        }
    )
    return Created(control["OriginAccessControl"]["Id"], {"etag": control["ETag"]})


synthesized(
    "aws:cloudfront/cachePolicy:CachePolicy",
    reason="moto has no CloudFront CreateCachePolicy (its TTL/header rule is checked)",
    outputs=_cache_policy_outputs,
)
synthesized(
    "aws:cloudfront/originRequestPolicy:OriginRequestPolicy",
    reason="moto has no CloudFront CreateOriginRequestPolicy (Authorization is refused, as CloudFront does)",
    outputs=_origin_request_outputs,
)
synthesized(
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
    reason="moto has no CloudFront CreateResponseHeadersPolicy",
    outputs=lambda ctx: {"etag": stable_suffix(ctx.urn)},
)
synthesized(
    "aws:cloudfront/vpcOrigin:VpcOrigin",
    reason="moto has no CloudFront CreateVpcOrigin",
    outputs=lambda ctx: {
        "arn": f"arn:aws:cloudfront::{ctx.account_id}:vpcorigin/vo_{stable_suffix(ctx.urn, 20)}",
        "etag": stable_suffix(ctx.urn),
    },
)
