"""The Edge component: WAF -> CloudFront -> the storefront bucket (OAC), and (VPC origin) -> internal ALB -> API pods."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from app.web.site import build
from infra.components.edge import cdn, site
from infra.components.edge.args import EdgeArgs
from infra.components.edge.buckets import log_bucket
from infra.components.edge.dns import alias_records, validated_certificate
from infra.components.edge.load_balancer import build_alb
from infra.components.edge.policies import CLOUDFRONT_HOSTED_ZONE_ID, tls_only_bucket_policy
from infra.components.edge.waf import web_acl, web_acl_name
from infra.components.network import Network


class Edge(pulumi.ComponentResource):
    """The way in: CloudFront with WAF, the storefront from a private bucket, a private path to an
    internal ALB for the API, and their logs."""

    alb_arn: pulumi.Output[str]
    alb_dns_name: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]
    """Admit this group on the nodes' security group, port 8000, for the ALB to reach the pods."""
    target_group_arn: pulumi.Output[str]
    """For the app's TargetGroupBinding, which registers the API pods' IPs."""
    distribution_id: pulumi.Output[str]
    distribution_domain_name: pulumi.Output[str]
    site_bucket: pulumi.Output[str]
    """The storefront's bucket (private; CloudFront reads it through Origin Access Control)."""
    web_acl_arn: pulumi.Output[str]
    web_acl_name: str
    alb_arn_suffix: pulumi.Output[str]
    """``app/<name>/<id>``: the ``LoadBalancer`` dimension of the ALB's metrics."""
    target_group_arn_suffix: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: EdgeArgs,
        *,
        network: Network,
        us_east_1: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``us_east_1``: a provider in us-east-1 carrying the stack's default tags, for the
        CloudFront certificate and the CLOUDFRONT-scope web ACL, which AWS keeps only there."""
        super().__init__("webscale:index:Edge", name, None, opts)
        alb_cert = cf_cert = None
        if args.domain_name and args.hosted_zone_id and args.origin_domain_name:
            alb_cert = validated_certificate(
                f"{name}-origin", domain=args.origin_domain_name, zone_id=args.hosted_zone_id, parent=self
            )
            cf_cert = validated_certificate(
                f"{name}-viewer", domain=args.domain_name, zone_id=args.hosted_zone_id, parent=self, provider=us_east_1
            )

        alb = build_alb(name, args, network=network, certificate_arn=alb_cert, parent=self)
        acl = web_acl(f"{name}-waf", args, parent=self, provider=us_east_1)
        logs = log_bucket(
            f"{name}-cdn-logs",
            parent=self,
            expiry_days=args.log_expiry_days,
            policy=tls_only_bucket_policy,
            ownership="BucketOwnerPreferred",  # CloudFront standard logs are written through ACLs
        )
        storefront, storefront_block = site.bucket(f"{name}-site", parent=self)
        site.upload(f"{name}-site", storefront, build())
        dist = cdn.distribution(
            f"{name}-cdn",
            args,
            alb=alb.load_balancer,
            origin=cdn.vpc_origin(f"{name}-vpc-origin", alb=alb.load_balancer, https=alb_cert is not None, parent=self),
            headers=cdn.security_headers(f"{name}-security-headers", parent=self),
            api_request=cdn.api_origin_request(f"{name}-api-origin-request", parent=self),
            api_cache=cdn.api_cache_policy(f"{name}-api-cache", parent=self),
            web_acl=acl,
            logs=logs,
            site=storefront,
            site_access=site.origin_access_control(f"{name}-site-oac", parent=self),
            page_cache=site.page_cache_policy(f"{name}-page-cache", parent=self),
            asset_cache=site.immutable_cache_policy(f"{name}-asset-cache", parent=self),
            certificate_arn=cf_cert,
            parent=self,
        )
        site.grant_distribution(f"{name}-site", storefront, storefront_block, dist)
        if args.domain_name and args.hosted_zone_id and args.origin_domain_name:
            alias_records(
                f"{name}-site",
                domain=args.domain_name,
                zone_id=args.hosted_zone_id,
                target_name=dist.domain_name,
                target_zone_id=CLOUDFRONT_HOSTED_ZONE_ID,
                parent=dist,
            )
            # The origin name resolves (privately addressed) to the ALB, so the name CloudFront
            # validates the ALB's certificate against is a real one.
            alias_records(
                f"{name}-origin",
                domain=args.origin_domain_name,
                zone_id=args.hosted_zone_id,
                target_name=alb.load_balancer.dns_name,
                target_zone_id=alb.load_balancer.zone_id,
                parent=alb.load_balancer,
                ipv6=False,
            )

        self.alb_arn = alb.load_balancer.arn
        self.alb_dns_name = alb.load_balancer.dns_name
        self.alb_security_group_id = alb.security_group.id
        self.target_group_arn = alb.target_group.arn
        self.distribution_id = dist.id
        self.distribution_domain_name = dist.domain_name
        self.site_bucket = storefront.bucket
        self.web_acl_arn = acl.arn
        self.web_acl_name = web_acl_name()
        self.alb_arn_suffix = alb.load_balancer.arn_suffix
        self.target_group_arn_suffix = alb.target_group.arn_suffix
        self.url = (
            pulumi.Output.from_input(f"https://{args.domain_name}")
            if args.domain_name
            else (dist.domain_name.apply(lambda d: f"https://{d}"))
        )
        self.register_outputs(
            {
                "alb_arn": self.alb_arn,
                "alb_dns_name": self.alb_dns_name,
                "alb_security_group_id": self.alb_security_group_id,
                "target_group_arn": self.target_group_arn,
                "distribution_id": self.distribution_id,
                "distribution_domain_name": self.distribution_domain_name,
                "site_bucket": self.site_bucket,
                "web_acl_arn": self.web_acl_arn,
                "url": self.url,
            }
        )
