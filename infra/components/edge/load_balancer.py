"""The internal ALB in front of the API pods, its security group, target group and listeners."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.edge.args import EdgeArgs
from infra.components.edge.buckets import log_bucket
from infra.components.edge.policies import ALB_TLS_POLICY, CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST, alb_log_bucket_policy
from infra.components.network import Network
from infra.naming import stack_name

API_PORT = 8000
LOG_PREFIX = "alb"
INTERNAL_PATHS = ("/metrics", "/metrics/*", "/livez", "/readyz")
"""Served by every pod for Prometheus and the kubelet, never for the internet: the listener
answers 404 itself, whatever CloudFront forwards. (The target group's health check goes to the
pods directly, not through listener rules, so it still reaches /readyz.)"""


@dataclass(frozen=True)
class Alb:
    load_balancer: aws.lb.LoadBalancer
    security_group: aws.ec2.SecurityGroup
    target_group: aws.lb.TargetGroup
    listeners: list[aws.lb.Listener]


def build_alb(
    name: str, args: EdgeArgs, *, network: Network, certificate_arn: pulumi.Output[str] | None, parent: pulumi.Resource
) -> Alb:
    """An internal ALB that only CloudFront's VPC origin reaches, forwarding to pod IPs on 8000."""
    invoke = pulumi.InvokeOptions(parent=parent)
    account_id = aws.get_caller_identity(opts=invoke).account_id
    region = aws.get_region(opts=invoke).region
    partition = aws.get_partition(opts=invoke).partition
    logs = log_bucket(
        f"{name}-alb-logs",
        parent=parent,
        expiry_days=args.log_expiry_days,
        policy=lambda arn: alb_log_bucket_policy(arn, account_id, region, prefix=LOG_PREFIX, partition=partition),
        ownership="BucketOwnerEnforced",
    )

    sg = aws.ec2.SecurityGroup(
        f"{name}-alb",
        vpc_id=network.vpc_id,
        description="Internal API ALB: in from CloudFront VPC origins only, out to the API pods on 8000",
        tags={"Name": stack_name("alb")},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    cloudfront = aws.ec2.get_managed_prefix_list(name=CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST, opts=invoke)
    # One port only: CloudFront reaches the ALB over HTTPS once it has a certificate, else HTTP.
    # And AWS counts each reference to this prefix list as 55 rules against a group's default
    # limit of 60, so a second reference would fail with RulesPerSecurityGroupLimitExceeded.
    for port in (443,) if certificate_arn is not None else (80,):
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-alb-from-cloudfront-{port}",
            security_group_id=sg.id,
            description=f"{'HTTPS' if port == 443 else 'HTTP'} from CloudFront (origin-facing prefix list)",
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            prefix_list_id=cloudfront.id,
            opts=pulumi.ResourceOptions(parent=sg),
        )
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-alb-to-pods",
        security_group_id=sg.id,
        description="To the API pods (target type ip) in the VPC",
        ip_protocol="tcp",
        from_port=API_PORT,
        to_port=API_PORT,
        cidr_ipv4=network.vpc_cidr,
        opts=pulumi.ResourceOptions(parent=sg),
    )

    alb = aws.lb.LoadBalancer(
        f"{name}-alb",
        name=stack_name("api", max_len=32),
        load_balancer_type="application",
        internal=True,  # no public address: only the VPC origin inside the VPC reaches it
        subnets=network.private_subnet_ids,
        security_groups=[sg.id],
        drop_invalid_header_fields=True,
        # Only CloudFront talks to this ALB and it sends RFC-compliant requests, so the strictest
        # mode costs nothing and closes request smuggling entirely.
        desync_mitigation_mode="strictest",
        enable_deletion_protection=args.deletion_protection,
        access_logs={"bucket": logs.bucket.id, "prefix": LOG_PREFIX, "enabled": True},
        idle_timeout=60,
        tags={"Name": stack_name("api")},
        # ELB test-writes to the bucket when logging is enabled, so the policy must exist first.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=logs.ready),
    )
    target_group = aws.lb.TargetGroup(
        f"{name}-api",
        name=stack_name("api", max_len=32),
        target_type="ip",  # pod IPs, registered by the app's TargetGroupBinding
        port=API_PORT,
        protocol="HTTP",
        vpc_id=network.vpc_id,
        deregistration_delay=args.deregistration_delay_seconds,
        load_balancing_algorithm_type=args.load_balancing_algorithm,
        health_check={
            "path": "/readyz",
            "port": "traffic-port",
            "protocol": "HTTP",
            "matcher": "200",
            "interval": 10,
            "timeout": 5,
            "healthy_threshold": 2,
            "unhealthy_threshold": 3,
        },
        tags={"Name": stack_name("api")},
        opts=pulumi.ResourceOptions(parent=alb),
    )
    forward: list[Any] = [{"type": "forward", "target_group_arn": target_group.arn}]
    listeners: list[aws.lb.Listener] = []
    child = pulumi.ResourceOptions(parent=alb)
    if certificate_arn is None:
        listeners.append(
            aws.lb.Listener(
                f"{name}-http", load_balancer_arn=alb.arn, port=80, protocol="HTTP", default_actions=forward, opts=child
            )
        )
    else:
        listeners.append(
            aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=alb.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=ALB_TLS_POLICY,
                certificate_arn=certificate_arn,
                default_actions=forward,
                opts=child,
            )
        )
        listeners.append(
            aws.lb.Listener(
                f"{name}-http-redirect",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}
                ],
                opts=child,
            )
        )
    # The first listener is the one that forwards (the other, if any, only redirects to HTTPS).
    _hide_internal_paths(f"{name}-internal-paths", listeners[0])
    return Alb(alb, sg, target_group, listeners)


def _hide_internal_paths(name: str, listener: aws.lb.Listener) -> aws.lb.ListenerRule:
    return aws.lb.ListenerRule(
        name,
        listener_arn=listener.arn,
        priority=1,
        conditions=[{"path_pattern": {"values": list(INTERNAL_PATHS)}}],
        actions=[
            {
                "type": "fixed-response",
                "fixed_response": {
                    "content_type": "application/json",
                    "status_code": "404",
                    "message_body": '{"detail":"Not Found"}',
                },
            }
        ],
        opts=pulumi.ResourceOptions(parent=listener),
    )
