"""WAFv2 web ACLs, emulated in moto (CLOUDFRONT scope in us-east-1, through the provider's region)."""

from __future__ import annotations

from typing import Any

from infra.offline.registry import Created, Ctx, translator

_KEYS = {
    "cloudwatchMetricsEnabled": "CloudWatchMetricsEnabled",
    "metricName": "MetricName",
    "sampledRequestsEnabled": "SampledRequestsEnabled",
    "aggregateKeyType": "AggregateKeyType",
    "evaluationWindowSec": "EvaluationWindowSec",
    "vendorName": "VendorName",
    "responseCode": "ResponseCode",
}


def _api(value: Any) -> Any:
    """Pulumi's camelCase shapes as WAF's PascalCase ones (``none: {}`` stays ``None: {}``)."""
    if isinstance(value, dict):
        return {_KEYS.get(k, k[0].upper() + k[1:]): _api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@translator("aws:wafv2/webAcl:WebAcl")
def web_acl(ctx: Ctx) -> Created:
    i = ctx.inputs
    scope = i["scope"]
    if scope == "CLOUDFRONT" and ctx.region != "us-east-1":
        raise ValueError(f"a CLOUDFRONT-scope web ACL must be created in us-east-1, not {ctx.region}")
    rules = [_api(r) for r in i.get("rules") or []]
    for rule in rules:
        rule.setdefault("VisibilityConfig", {})
    summary = ctx.client("wafv2").create_web_acl(
        Name=ctx.physical_name(max_len=128),
        Scope=scope,
        DefaultAction=_api(i["defaultAction"]),
        Description=i.get("description", ""),
        Rules=rules,
        VisibilityConfig=_api(i["visibilityConfig"]),
        Tags=ctx.tag_list(),
    )["Summary"]
    return Created(
        summary["Id"],
        {"arn": summary["ARN"], "lockToken": summary["LockToken"], "capacity": float(len(rules))},
        note=f"{len(rules)} rules",
    )
