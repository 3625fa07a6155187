"""Application load balancers, their attributes, target groups and listeners, emulated in moto."""

from __future__ import annotations

from typing import Any

from infra.offline.registry import Created, Ctx, translator


def _flag(value: Any) -> str:
    return "true" if value else "false"


def _lb_attributes(i: dict[str, Any]) -> list[dict[str, str]]:
    """The provider's arguments as the ELB attributes it sets after CreateLoadBalancer."""
    attributes = {
        "deletion_protection.enabled": _flag(i.get("enableDeletionProtection")),
        "routing.http.drop_invalid_header_fields.enabled": _flag(i.get("dropInvalidHeaderFields")),
        "routing.http.desync_mitigation_mode": i.get("desyncMitigationMode", "defensive"),
        "idle_timeout.timeout_seconds": str(int(i.get("idleTimeout", 60))),
    }
    logs = i.get("accessLogs") or {}
    attributes["access_logs.s3.enabled"] = _flag(logs.get("enabled"))
    if logs.get("enabled"):
        attributes["access_logs.s3.bucket"] = logs["bucket"]
        attributes["access_logs.s3.prefix"] = logs.get("prefix", "")
    return [{"Key": k, "Value": v} for k, v in attributes.items()]


@translator("aws:lb/loadBalancer:LoadBalancer")
def load_balancer(ctx: Ctx) -> Created:
    elbv2 = ctx.client("elbv2")
    i = ctx.inputs
    logs = i.get("accessLogs") or {}
    if logs.get("enabled"):
        ctx.client("s3").head_bucket(Bucket=logs["bucket"])  # ELB refuses a bucket that is not there
    lb = elbv2.create_load_balancer(
        Name=ctx.physical_name(max_len=32),
        Subnets=i["subnets"],
        SecurityGroups=i.get("securityGroups", []),
        Scheme="internal" if i.get("internal") else "internet-facing",
        Type=i.get("loadBalancerType", "application"),
        IpAddressType=i.get("ipAddressType", "ipv4"),
        Tags=ctx.tag_list(),
    )["LoadBalancers"][0]
    arn = lb["LoadBalancerArn"]
    attributes = elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=_lb_attributes(i))
    return Created(
        arn,
        {
            "arn": arn,
            "arnSuffix": arn.split(":loadbalancer/", 1)[1],
            "dnsName": lb["DNSName"],
            "zoneId": lb["CanonicalHostedZoneId"],
            "vpcId": lb["VpcId"],
            "name": lb["LoadBalancerName"],
        },
        note=f"{len(attributes['Attributes'])} load balancer attributes set",
    )


@translator("aws:lb/targetGroup:TargetGroup")
def target_group(ctx: Ctx) -> Created:
    elbv2 = ctx.client("elbv2")
    i = ctx.inputs
    hc = i.get("healthCheck") or {}
    tg = elbv2.create_target_group(
        Name=ctx.physical_name(max_len=32),
        Protocol=i.get("protocol", "HTTP"),
        Port=int(i["port"]),
        VpcId=i["vpcId"],
        TargetType=i.get("targetType", "instance"),
        HealthCheckProtocol=hc.get("protocol", "HTTP"),
        HealthCheckPort=str(hc.get("port", "traffic-port")),
        HealthCheckPath=hc.get("path", "/"),
        HealthCheckIntervalSeconds=int(hc.get("interval", 30)),
        HealthCheckTimeoutSeconds=int(hc.get("timeout", 5)),
        HealthyThresholdCount=int(hc.get("healthyThreshold", 3)),
        UnhealthyThresholdCount=int(hc.get("unhealthyThreshold", 3)),
        Matcher={"HttpCode": hc.get("matcher", "200")},
        Tags=ctx.tag_list(),
    )["TargetGroups"][0]
    arn = tg["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=arn,
        Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": str(int(i.get("deregistrationDelay", 300)))},
            {"Key": "load_balancing.algorithm.type", "Value": i.get("loadBalancingAlgorithmType", "round_robin")},
        ],
    )
    return Created(arn, {"arn": arn, "arnSuffix": arn.split(":", 5)[5], "name": tg["TargetGroupName"]})


def _action(a: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": a["type"]}
    if a.get("targetGroupArn"):
        out["TargetGroupArn"] = a["targetGroupArn"]
    if a.get("redirect"):
        r = a["redirect"]
        out["RedirectConfig"] = {
            "Protocol": r.get("protocol", "#{protocol}"),
            "Port": str(r.get("port", "#{port}")),
            "StatusCode": r["statusCode"],
        }
    if a.get("fixedResponse"):
        f = a["fixedResponse"]
        out["FixedResponseConfig"] = {
            "StatusCode": str(f["statusCode"]),
            "ContentType": f.get("contentType", "text/plain"),
        }
        if f.get("messageBody") is not None:
            out["FixedResponseConfig"]["MessageBody"] = f["messageBody"]
    return out


def _condition(c: dict[str, Any]) -> dict[str, Any]:
    if c.get("pathPattern"):
        return {"Field": "path-pattern", "PathPatternConfig": {"Values": list(c["pathPattern"]["values"])}}
    if c.get("hostHeader"):
        return {"Field": "host-header", "HostHeaderConfig": {"Values": list(c["hostHeader"]["values"])}}
    raise ValueError(f"listener rule condition not emulated: {sorted(c)}")


@translator("aws:lb/listenerRule:ListenerRule")
def listener_rule(ctx: Ctx) -> Created:
    i = ctx.inputs
    conditions = [_condition(c) for c in i["conditions"]]
    values = sum(len(c.get("PathPatternConfig", c.get("HostHeaderConfig", {})).get("Values", [])) for c in conditions)
    if values > 5:  # ELB's limit on condition values per rule
        raise ValueError(f"a listener rule takes at most 5 condition values, got {values}")
    rule = ctx.client("elbv2").create_rule(
        ListenerArn=i["listenerArn"],
        Priority=int(i["priority"]),
        Conditions=conditions,
        Actions=[_action(a) for a in i["actions"]],
        Tags=ctx.tag_list(),
    )["Rules"][0]
    return Created(rule["RuleArn"], {"arn": rule["RuleArn"]})


@translator("aws:lb/listener:Listener")
def listener(ctx: Ctx) -> Created:
    i = ctx.inputs
    kwargs: dict[str, Any] = {
        "LoadBalancerArn": i["loadBalancerArn"],
        "Protocol": i.get("protocol", "HTTP"),
        "Port": int(i["port"]),
        "DefaultActions": [_action(a) for a in i["defaultActions"]],
        "Tags": ctx.tag_list(),
    }
    if i.get("sslPolicy"):
        kwargs["SslPolicy"] = i["sslPolicy"]
    if i.get("certificateArn"):
        kwargs["Certificates"] = [{"CertificateArn": i["certificateArn"]}]
    arn = ctx.client("elbv2").create_listener(**kwargs)["Listeners"][0]["ListenerArn"]
    return Created(arn, {"arn": arn})
