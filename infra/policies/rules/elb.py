"""Elastic Load Balancing v2 rules (the ALB behind CloudFront).

ELB.1 and the CloudFront VPC origin. The ALB is internal and reached only through a CloudFront VPC
origin; viewers always speak HTTPS to CloudFront (CloudFront.3). ELB.1 applies once a certificate
exists, i.e. once the ALB has an HTTPS listener: then every HTTP listener must only redirect to
HTTPS, and the VPC origin must use https-only (CloudFront.9, see cloudfront.py). Without any
certificate (a stack without a domain: ACM will not issue one, and CloudFront rejects self-signed
origin certificates) a plain-HTTP listener is accepted only on an *internal* ALB that is the target
of a CloudFront VPC origin, and the advisory ``elb-1-alb-without-certificate`` says the hop from
CloudFront to the ALB is then unencrypted. Both need several resources, so they are stack rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from infra.policies.rules._rule import ADVISORY, Control, Problems, get, items, of_type, resource_rule, stack_rule

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
VPC_ORIGIN = "aws:cloudfront/vpcOrigin:VpcOrigin"
SAFE_DESYNC_MODES = ("defensive", "strictest")

ELB_1 = Control("ELB.1", "Application Load Balancer should be configured to redirect all HTTP requests to HTTPS")


def _is_alb(props: Mapping[str, Any]) -> bool:
    return get(props, "loadBalancerType", default="application") == "application"


def listener_protocol(props: Mapping[str, Any]) -> str:
    return str(get(props, "protocol", default="HTTPS" if get(props, "certificateArn") else "HTTP"))


def redirects_to_https(props: Mapping[str, Any]) -> bool:
    actions = items(get(props, "defaultActions"))
    return bool(actions) and all(
        get(a, "type") == "redirect" and get(a, "redirect", "protocol") == "HTTPS" for a in actions
    )


class LoadBalancers:
    """The stack's load balancers by ARN, with their listeners and the VPC origins that target them."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.by_arn = {get(lb.props, "arn"): lb for lb in of_type(resources, *LOAD_BALANCERS)}
        self.listeners = of_type(resources, *LISTENERS)
        self.origin_targets = {get(v.props, "vpcOriginEndpointConfig", "arn") for v in of_type(resources, VPC_ORIGIN)}

    def of_listener(self, listener: PolicyResource) -> PolicyResource | None:
        return self.by_arn.get(get(listener.props, "loadBalancerArn"))

    def has_tls(self, lb: PolicyResource) -> bool:
        arn = get(lb.props, "arn")
        return any(
            listener_protocol(ln.props) == "HTTPS" for ln in self.listeners if get(ln.props, "loadBalancerArn") == arn
        )

    def is_internal_vpc_origin(self, lb: PolicyResource) -> bool:
        return bool(get(lb.props, "internal", default=False)) and get(lb.props, "arn") in self.origin_targets


def http_listener_problems(resources: Sequence[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    """ELB.1: plain HTTP only to redirect, unless no certificate exists and the ALB is an internal VPC origin."""
    lbs = LoadBalancers(resources)
    for listener in lbs.listeners:
        if listener_protocol(listener.props) != "HTTP" or redirects_to_https(listener.props):
            continue
        port = int(float(get(listener.props, "port", default=80)))
        lb = lbs.of_listener(listener)
        if lb is None:
            yield (
                listener,
                f"the HTTP listener on port {port} forwards plain HTTP (its load balancer is not in this stack)",
            )
        elif lbs.has_tls(lb):
            yield (
                listener,
                f"the HTTP listener on port {port} does not redirect to HTTPS although the ALB has an HTTPS listener",
            )
        elif not lbs.is_internal_vpc_origin(lb):
            yield (
                listener,
                (
                    f"the HTTP listener on port {port} forwards plain HTTP on an ALB that is not an internal CloudFront VPC origin"
                ),
            )


def albs_without_certificate(resources: Sequence[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    lbs = LoadBalancers(resources)
    for lb in lbs.by_arn.values():
        if _is_alb(lb.props) and not lbs.has_tls(lb):
            yield lb, "the ALB has no HTTPS listener: the hop from CloudFront to it is unencrypted inside the VPC"


def invalid_header_problems(props: Mapping[str, Any]) -> Problems:
    if not _is_alb(props):
        return []
    return [] if get(props, "dropInvalidHeaderFields", default=False) else ["invalid HTTP header fields are passed on"]


def access_log_problems(props: Mapping[str, Any]) -> Problems:
    if get(props, "accessLogs", "enabled", default=False) and get(props, "accessLogs", "bucket"):
        return []
    return ["access logs are not delivered to S3"]


def deletion_protection_problems(props: Mapping[str, Any]) -> Problems:
    return [] if get(props, "enableDeletionProtection", default=False) else ["deletion protection is off"]


def desync_problems(props: Mapping[str, Any]) -> Problems:
    if not _is_alb(props):
        return []
    mode = get(props, "desyncMitigationMode", default="defensive")
    return [] if mode in SAFE_DESYNC_MODES else [f"desync mitigation mode is {mode!r}"]


def multi_az_problems(props: Mapping[str, Any]) -> Problems:
    """ELB.13: at least two subnets (one per AZ: subnets of one VPC tier are one per AZ in this stack)."""
    subnets = len(items(get(props, "subnets"))) or len(items(get(props, "subnetMappings")))
    return [] if subnets >= 2 else [f"it spans {subnets} subnet(s), fewer than two Availability Zones"]


POLICIES = [
    stack_rule(
        "elb-1-http-redirects-to-https",
        ELB_1,
        http_listener_problems,
        'give the HTTP aws.lb.Listener only a default action {"type": "redirect", "redirect": {"protocol": "HTTPS", '
        '"port": "443", "status_code": "HTTP_301"}}, or drop it and keep the HTTPS listener',
        why="Applies once the ALB has a certificate (an HTTPS listener); without one, plain HTTP is accepted only on "
        "an internal ALB that a CloudFront VPC origin targets (see infra/policies/rules/elb.py).",
    ),
    stack_rule(
        "elb-1-alb-without-certificate",
        ELB_1,
        albs_without_certificate,
        "give the edge a domain name so the ALB gets an ACM certificate and an HTTPS listener",
        level=ADVISORY,
        why="Advisory: a stack without a domain (dev) cannot get a certificate; CloudFront-to-ALB traffic is then "
        "plaintext inside the VPC.",
    ),
    resource_rule(
        "elb-4-drop-invalid-headers",
        Control("ELB.4", "Application Load Balancer should be configured to drop invalid HTTP headers"),
        LOAD_BALANCERS,
        invalid_header_problems,
        "set drop_invalid_header_fields=True on the aws.lb.LoadBalancer",
    ),
    resource_rule(
        "elb-5-access-logging",
        Control("ELB.5", "Application and Classic Load Balancers logging should be enabled"),
        LOAD_BALANCERS,
        access_log_problems,
        'set access_logs={"bucket": <log bucket>, "enabled": True} on the aws.lb.LoadBalancer',
    ),
    resource_rule(
        "elb-6-deletion-protection",
        Control("ELB.6", "Application, Gateway, and Network Load Balancers should have deletion protection enabled"),
        LOAD_BALANCERS,
        deletion_protection_problems,
        "set enable_deletion_protection=True on the aws.lb.LoadBalancer",
        level=ADVISORY,
        why="Advisory: dev turns it off so the stack can be destroyed.",
    ),
    resource_rule(
        "elb-12-desync-mitigation",
        Control(
            "ELB.12",
            "Application Load Balancer should be configured with defensive or strictest desync mitigation mode",
        ),
        LOAD_BALANCERS,
        desync_problems,
        'set desync_mitigation_mode="defensive" (the default) or "strictest" on the aws.lb.LoadBalancer',
    ),
    resource_rule(
        "elb-13-multiple-azs",
        Control("ELB.13", "Application, Network and Gateway Load Balancers should span multiple Availability Zones"),
        LOAD_BALANCERS,
        multi_az_problems,
        "pass one subnet per AZ (network.private_subnet_ids) as subnets on the aws.lb.LoadBalancer",
    ),
]
