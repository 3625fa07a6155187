"""CloudWatch alarms and dashboards, and the SNS topics they notify, emulated in moto.

moto stores alarms without checking what they point at, so the translator checks what AWS
would: every action names an SNS topic that exists in the alarm's own region, and metric math
refers only to ids the alarm defines.
"""

from __future__ import annotations

import json
import re
from typing import Any

from infra.offline.registry import Created, Ctx, translator

_IDENT = re.compile(r"\b[a-z][A-Za-z0-9_]*\b")
_FUNCTIONS = {"if", "fill", "max", "min", "sum", "avg", "abs", "ceil", "floor", "metrics", "rate", "diff"}


@translator("aws:sns/topic:Topic")
def topic(ctx: Ctx) -> Created:
    attributes = {}
    if ctx.inputs.get("kmsMasterKeyId"):
        attributes["KmsMasterKeyId"] = ctx.inputs["kmsMasterKeyId"]
    name = ctx.physical_name(max_len=256)
    arn = ctx.client("sns").create_topic(Name=name, Attributes=attributes, Tags=ctx.tag_list())["TopicArn"]
    return Created(arn, {"arn": arn, "name": name})


@translator("aws:sns/topicPolicy:TopicPolicy")
def topic_policy(ctx: Ctx) -> Created:
    arn = ctx.inputs["arn"]
    json.loads(ctx.inputs["policy"])  # AWS rejects a policy that is not JSON
    ctx.client("sns").set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=ctx.inputs["policy"])
    return Created(arn, {"owner": ctx.account_id})


@translator("aws:sns/topicSubscription:TopicSubscription")
def subscription(ctx: Ctx) -> Created:
    i = ctx.inputs
    arn = ctx.client("sns").subscribe(
        TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"], ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    return Created(arn, {"arn": arn}, note="confirmation pending until the subscriber accepts (email, https)")


def _dimensions(dims: dict[str, Any] | None) -> list[dict[str, str]]:
    return [{"Name": k, "Value": str(v)} for k, v in (dims or {}).items()]


def _check_actions(ctx: Ctx, actions: list[str]) -> None:
    sns = ctx.client("sns")
    for action in actions:
        region = action.split(":")[3] if action.startswith("arn:aws:sns:") else ""
        if region != ctx.region:
            raise ValueError(f"alarm action {action} is not an SNS topic in the alarm's region {ctx.region}")
        sns.get_topic_attributes(TopicArn=action)  # NotFound when the topic does not exist


def _queries(queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = {q["id"] for q in queries}
    api = []
    for q in queries:
        entry: dict[str, Any] = {"Id": q["id"], "ReturnData": bool(q.get("returnData"))}
        if q.get("expression"):
            unknown = {t for t in _IDENT.findall(q["expression"]) if t.lower() not in _FUNCTIONS} - ids
            if unknown:
                raise ValueError(f"metric math {q['expression']!r} refers to undefined ids {sorted(unknown)}")
            entry["Expression"] = q["expression"]
            entry["Label"] = q.get("label", "")
        else:
            m = q["metric"]
            entry["MetricStat"] = {
                "Metric": {
                    "Namespace": m["namespace"],
                    "MetricName": m["metricName"],
                    "Dimensions": _dimensions(m.get("dimensions")),
                },
                "Period": int(m["period"]),
                "Stat": m["stat"],
            }
        api.append(entry)
    if sum(1 for q in api if q["ReturnData"]) != 1:
        raise ValueError("an alarm's metric queries must return exactly one time series")
    return api


@translator("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(ctx: Ctx) -> Created:
    i = ctx.inputs
    name = ctx.physical_name(max_len=255)
    for key in ("alarmActions", "okActions"):
        _check_actions(ctx, i.get(key) or [])
    kwargs: dict[str, Any] = {
        "AlarmName": name,
        "AlarmDescription": i.get("alarmDescription", ""),
        "ComparisonOperator": i["comparisonOperator"],
        "EvaluationPeriods": int(i["evaluationPeriods"]),
        "Threshold": float(i["threshold"]),
        "AlarmActions": i.get("alarmActions") or [],
        "OKActions": i.get("okActions") or [],
        "TreatMissingData": i.get("treatMissingData", "missing"),
        "Tags": ctx.tag_list(),
    }
    if i.get("datapointsToAlarm"):
        kwargs["DatapointsToAlarm"] = int(i["datapointsToAlarm"])
    if i.get("metricQueries"):
        kwargs["Metrics"] = _queries(i["metricQueries"])
    else:
        kwargs.update(
            Namespace=i["namespace"],
            MetricName=i["metricName"],
            Dimensions=_dimensions(i.get("dimensions")),
            Period=int(i["period"]),
        )
        if i.get("extendedStatistic"):
            kwargs["ExtendedStatistic"] = i["extendedStatistic"]
        else:
            kwargs["Statistic"] = i["statistic"]
    cloudwatch = ctx.client("cloudwatch")
    cloudwatch.put_metric_alarm(**kwargs)
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return Created(name, {"arn": alarm["AlarmArn"], "name": name})


@translator("aws:cloudwatch/dashboard:Dashboard")
def dashboard(ctx: Ctx) -> Created:
    name = ctx.inputs["dashboardName"]
    body = ctx.inputs["dashboardBody"]
    widgets = json.loads(body).get("widgets")
    if not isinstance(widgets, list) or not widgets:
        raise ValueError("a dashboard body needs a non-empty 'widgets' list")
    cloudwatch = ctx.client("cloudwatch")
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=body)
    arn = cloudwatch.get_dashboard(DashboardName=name)["DashboardArn"]
    return Created(name, {"dashboardArn": arn}, note=f"{len(widgets)} widgets")
