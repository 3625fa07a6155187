"""The WAF web ACL in front of CloudFront: per-IP and per-token rate limits and AWS managed rule groups."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.edge.args import EdgeArgs
from infra.naming import stack_name

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",  # OWASP-style generic protections
    "AWSManagedRulesKnownBadInputsRuleSet",  # Log4Shell, invalid or exploit-shaped requests
    "AWSManagedRulesAmazonIpReputationList",  # bots and IPs Amazon threat intel has seen attack
)

ALLOW: Any = {"allow": {}}


def web_acl_name() -> str:
    """The web ACL's name, which is also the ``WebACL`` dimension of its CloudWatch metrics."""
    return stack_name("edge")


def _visibility(metric: str) -> Any:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def waf_rules(args: EdgeArgs) -> list[Any]:
    """The rate rules first (cheapest, and they must see every request), then the managed groups."""
    rate = {
        "name": "rate-limit-per-ip",
        "priority": 0,
        # 429 rather than 403, so well-behaved clients know to back off and retry.
        "action": {"block": {"custom_response": {"response_code": 429}}},
        "statement": {
            "rate_based_statement": {
                "limit": args.rate_limit,
                "aggregate_key_type": "IP",
                "evaluation_window_sec": args.rate_limit_window_seconds,
            }
        },
        "visibility_config": _visibility("rate-limit-per-ip"),
    }
    # Keyed on the Authorization header: one bucket per access token, however many IPs it comes
    # from. Requests without the header are not counted here (the per-IP rule covers them).
    per_token = {
        "name": "rate-limit-per-token",
        "priority": 1,
        "action": {"block": {"custom_response": {"response_code": 429}}},
        "statement": {
            "rate_based_statement": {
                "limit": args.rate_limit_per_token,
                "aggregate_key_type": "CUSTOM_KEYS",
                "custom_keys": [
                    {"header": {"name": "authorization", "text_transformations": [{"priority": 0, "type": "NONE"}]}}
                ],
                "evaluation_window_sec": args.rate_limit_window_seconds,
            }
        },
        "visibility_config": _visibility("rate-limit-per-token"),
    }
    managed = [
        {
            "name": group,
            "priority": i,
            "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group}},
            "visibility_config": _visibility(group),
        }
        for i, group in enumerate(MANAGED_RULE_GROUPS, start=2)
    ]
    return [rate, per_token, *managed]


def web_acl(name: str, args: EdgeArgs, *, parent: pulumi.Resource, provider: aws.Provider) -> aws.wafv2.WebAcl:
    """A CLOUDFRONT-scope web ACL; such ACLs live in us-east-1, hence ``provider``."""
    metric = web_acl_name()
    return aws.wafv2.WebAcl(
        name,
        name=metric,
        description="Rate limit per client IP and AWS managed rules in front of CloudFront",
        scope="CLOUDFRONT",
        default_action=ALLOW,
        rules=waf_rules(args),
        visibility_config=_visibility(metric),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
