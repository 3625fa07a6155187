"""Elastic Load Balancing v2 rules (the ALB behind CloudFront).

ELB.1 and the CloudFront VPC origin: the ALB is internal and reached only through a CloudFront
VPC origin. We still require TLS on it: CloudFront.9 (see cloudfront.py) makes the VPC origin speak
HTTPS to the ALB, so the ALB has an HTTPS listener with an ACM certificate, and any HTTP listener it
keeps must only redirect to HTTPS. "Internal" is not an exemption: a listener that forwards plain HTTP
is one misrouted security-group rule away from serving unencrypted traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.policies.rules._rule import ADVISORY, Control, Problems, get, items, resource_rule

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
SAFE_DESYNC_MODES = ("defensive", "strictest")


def _is_alb(props: Mapping[str, Any]) -> bool:
    return get(props, "loadBalancerType", default="application") == "application"


def http_redirect_problems(props: Mapping[str, Any]) -> Problems:
    """ELB.1 on a listener: plain HTTP is accepted only to answer with a redirect to HTTPS."""
    protocol = get(props, "protocol", default="HTTPS" if get(props, "certificateArn") else "HTTP")
    if protocol != "HTTP":
        return []
    actions = items(get(props, "defaultActions"))
    redirects = [a for a in actions if get(a, "type") == "redirect" and get(a, "redirect", "protocol") == "HTTPS"]
    if actions and len(redirects) == len(actions):
        return []
    return [f"the HTTP listener on port {int(float(get(props, 'port', default=80)))} does not redirect to HTTPS"]


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
    resource_rule(
        "elb-1-http-redirects-to-https",
        Control("ELB.1", "Application Load Balancer should be configured to redirect all HTTP requests to HTTPS"),
        LISTENERS,
        http_redirect_problems,
        'give the HTTP aws.lb.Listener only a default action {"type": "redirect", "redirect": {"protocol": "HTTPS", '
        '"port": "443", "status_code": "HTTP_301"}}, or drop it and keep the HTTPS listener',
        why="Internal ALBs reached through a CloudFront VPC origin are not exempt (see infra/policies/rules/elb.py).",
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
