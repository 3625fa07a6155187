"""CloudFront: the storefront from its private bucket, ``/api/*`` from the internal ALB (a VPC origin)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from app.web.site import CONTENT_SECURITY_POLICY, INDEX
from infra.components.edge.args import EdgeArgs
from infra.components.edge.buckets import LogBucket
from infra.components.edge.policies import (
    API_METHODS,
    API_ORIGIN_HEADERS,
    AUTHORIZATION,
    CACHED_METHODS,
    READ_METHODS,
    VIEWER_MIN_TLS,
)
from infra.naming import stack_name

ORIGIN_ID = "api-alb"
SITE_ORIGIN_ID = "storefront-bucket"
NO_GEO_RESTRICTION: Any = {"geo_restriction": {"restriction_type": "none"}}


def security_headers(name: str, *, parent: pulumi.Resource) -> aws.cloudfront.ResponseHeadersPolicy:
    """HSTS (two years, subdomains, preload), nosniff, no framing, strict referrer, XSS block,
    and the storefront's Content-Security-Policy (the one the local server sends too)."""
    return aws.cloudfront.ResponseHeadersPolicy(
        name,
        name=stack_name("security-headers"),
        comment="Security headers on every response",
        security_headers_config={
            "strict_transport_security": {
                "access_control_max_age_sec": 63072000,
                "include_subdomains": True,
                "preload": True,
                "override": True,
            },
            "content_type_options": {"override": True},
            "frame_options": {"frame_option": "DENY", "override": True},
            "referrer_policy": {"referrer_policy": "strict-origin-when-cross-origin", "override": True},
            "xss_protection": {"protection": True, "mode_block": True, "override": True},
            "content_security_policy": {"content_security_policy": CONTENT_SECURITY_POLICY, "override": True},
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def api_origin_request(name: str, *, parent: pulumi.Resource) -> aws.cloudfront.OriginRequestPolicy:
    """What the API sees: every query string and cookie, and the headers it reads.

    All cookies, because the app may set a short-lived cookie to read its own writes from the
    primary; forwarding them all means a new cookie never needs an edge change.
    """
    return aws.cloudfront.OriginRequestPolicy(
        name,
        name=stack_name("api-origin-request"),
        comment="API: all query strings and cookies, the headers the API reads",
        query_strings_config={"query_string_behavior": "all"},
        cookies_config={"cookie_behavior": "all"},
        headers_config={"header_behavior": "whitelist", "headers": {"items": list(API_ORIGIN_HEADERS)}},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def api_cache_policy(name: str, *, parent: pulumi.Resource) -> aws.cloudfront.CachePolicy:
    """``/api/*`` only: ``Authorization`` reaches the API, and is part of the cache key.

    CloudFront refuses ``Authorization`` in an origin request policy (400 InvalidArgument) and
    drops it from GET/HEAD unless the cache key holds it, so the API's behaviour needs a cache
    policy of its own. Default TTL 0: nothing is cached unless the API says so, and then only per
    token. The other behaviours never forward the header.
    """
    return aws.cloudfront.CachePolicy(
        name,
        name=stack_name("api-bearer"),
        comment="API: Authorization in the cache key (forwarded), nothing cached by default",
        min_ttl=0,
        default_ttl=0,
        max_ttl=1,  # a header may be in the key only if some caching is possible
        parameters_in_cache_key_and_forwarded_to_origin={
            "headers_config": {"header_behavior": "whitelist", "headers": {"items": [AUTHORIZATION]}},
            "cookies_config": {"cookie_behavior": "none"},
            "query_strings_config": {"query_string_behavior": "none"},
            "enable_accept_encoding_gzip": True,
            "enable_accept_encoding_brotli": True,
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def vpc_origin(
    name: str, *, alb: aws.lb.LoadBalancer, https: bool, parent: pulumi.Resource
) -> aws.cloudfront.VpcOrigin:
    """CloudFront's private path into the VPC to the internal ALB."""
    return aws.cloudfront.VpcOrigin(
        name,
        vpc_origin_endpoint_config={
            "name": stack_name("api-alb"),
            "arn": alb.arn,
            "http_port": 80,
            "https_port": 443,
            # Without a domain there is no certificate for the ALB; the hop then stays on
            # AWS's network inside the VPC origin, never on the internet.
            "origin_protocol_policy": "https-only" if https else "http-only",
            "origin_ssl_protocols": {"items": ["TLSv1.2"], "quantity": 1},
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _behavior(
    *, origin: str, cache_policy: Any, methods: tuple[str, ...], headers: Any, origin_request: Any = None
) -> Any:
    behavior: dict[str, Any] = {
        "target_origin_id": origin,
        "viewer_protocol_policy": "redirect-to-https",
        "allowed_methods": list(methods),
        "cached_methods": list(CACHED_METHODS),
        "cache_policy_id": cache_policy,
        "response_headers_policy_id": headers,
        "compress": True,
    }
    if origin_request is not None:
        behavior["origin_request_policy_id"] = origin_request
    return behavior


def distribution(
    name: str,
    args: EdgeArgs,
    *,
    alb: aws.lb.LoadBalancer,
    origin: aws.cloudfront.VpcOrigin,
    headers: aws.cloudfront.ResponseHeadersPolicy,
    api_request: aws.cloudfront.OriginRequestPolicy,
    api_cache: aws.cloudfront.CachePolicy,
    web_acl: aws.wafv2.WebAcl,
    logs: LogBucket,
    site: aws.s3.Bucket,
    site_access: aws.cloudfront.OriginAccessControl,
    page_cache: aws.cloudfront.CachePolicy,
    asset_cache: aws.cloudfront.CachePolicy,
    certificate_arn: pulumi.Output[str] | None,
    parent: pulumi.Resource,
) -> aws.cloudfront.Distribution:
    """``/api/*`` passed through to the ALB with the bearer token; the storefront (``/`` and every
    other path) from the bucket, hashed ``/static/*`` assets cached a year, the page briefly;
    HTTPS for every viewer."""
    api = _behavior(
        origin=ORIGIN_ID,
        cache_policy=api_cache.id,
        methods=API_METHODS,
        headers=headers.id,
        origin_request=api_request.id,
    )
    page = _behavior(origin=SITE_ORIGIN_ID, cache_policy=page_cache.id, methods=READ_METHODS, headers=headers.id)
    assets = _behavior(origin=SITE_ORIGIN_ID, cache_policy=asset_cache.id, methods=READ_METHODS, headers=headers.id)
    viewer_certificate: Any = (
        {"cloudfront_default_certificate": True}
        if certificate_arn is None
        else {
            "acm_certificate_arn": certificate_arn,
            "ssl_support_method": "sni-only",
            "minimum_protocol_version": VIEWER_MIN_TLS,
        }
    )
    origins: Any = [
        {
            "origin_id": ORIGIN_ID,
            # With a domain, the name the ALB's certificate covers (SNI and Host); otherwise
            # the ALB's own name, over HTTP inside the VPC origin.
            "domain_name": args.origin_domain_name or alb.dns_name,
            "vpc_origin_config": {"vpc_origin_id": origin.id, "origin_read_timeout": 30},
        },
        {
            # The regional name: the global one can redirect for a while after a bucket is made.
            "origin_id": SITE_ORIGIN_ID,
            "domain_name": site.bucket_regional_domain_name,
            "origin_access_control_id": site_access.id,
        },
    ]
    ordered: Any = [
        {"path_pattern": "/static/*", **assets},
        {"path_pattern": "/api/*", **api},
    ]
    logging: Any = {"bucket": logs.bucket.bucket_domain_name, "prefix": "cloudfront/", "include_cookies": False}
    return aws.cloudfront.Distribution(
        name,
        comment=stack_name("edge"),
        enabled=True,
        is_ipv6_enabled=True,
        http_version="http2and3",
        price_class=args.price_class,
        aliases=[args.domain_name] if args.domain_name else [],
        web_acl_id=web_acl.arn,
        origins=origins,
        ordered_cache_behaviors=ordered,
        default_cache_behavior=page,
        default_root_object=INDEX,
        restrictions=NO_GEO_RESTRICTION,
        viewer_certificate=viewer_certificate,
        logging_config=logging,
        tags={"Name": stack_name("edge")},
        # CloudFront's log delivery writes through the ACL, which needs the ownership controls.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=logs.ready),
    )
