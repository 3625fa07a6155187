"""The Observability component: an encrypted alarm topic, the stack's alarms and its dashboard."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.app import AppDeployment
from infra.components.app.processes import PROCESSES
from infra.components.cache import RedisCache
from infra.components.database import PostgresDatabase
from infra.components.edge import Edge
from infra.components.eks import EksCluster
from infra.components.kafka import KafkaCluster
from infra.components.kms import encryption_key
from infra.components.observability import alarms, collector, dashboard
from infra.components.observability.args import ObservabilityArgs
from infra.naming import stack_name

CLOUDWATCH = "cloudwatch.amazonaws.com"


def worker_consumers() -> list[tuple[str, str]]:
    """(consumer group, topic) of every worker: the lag each alarm and graph watches."""
    return [(p.consumer_group, topic) for p in PROCESSES if p.consumer_group for topic in p.consumes]


def cloudwatch_publishes(topic_arn: str, account_id: str) -> dict[str, Any]:
    """Topic policy: the account administers the topic; CloudWatch alarms of this account publish."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountOwnsTopic",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:Subscribe", "SNS:Publish"],
                "Resource": topic_arn,
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDWATCH},
                "Action": "SNS:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
        ],
    }


CLOUDWATCH_USES_TOPIC_KEY = {
    # As AWS documents it for alarms that notify an encrypted topic: CloudWatch encrypts the
    # message with the topic's key. No condition: CloudWatch's requests carry no source account.
    "Sid": "CloudWatchEncryptsAlarmMessages",
    "Effect": "Allow",
    "Principal": {"Service": CLOUDWATCH},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
    "Resource": "*",
}


def alarm_inputs(spec: alarms.AlarmSpec) -> dict[str, Any]:
    """The keyword arguments of ``aws.cloudwatch.MetricAlarm`` for ``spec`` (without name and actions)."""
    args: dict[str, Any] = {
        "comparison_operator": spec.comparison,
        "threshold": spec.threshold,
        "evaluation_periods": spec.evaluation_periods,
        "datapoints_to_alarm": spec.datapoints_to_alarm,
        "treat_missing_data": spec.treat_missing_data,
    }
    signal = spec.signal
    if isinstance(signal, alarms.Metric):
        args.update(namespace=signal.namespace, metric_name=signal.name, dimensions=dict(signal.dimensions))
        args["period"] = signal.period
        if signal.stat.startswith("p"):
            args["extended_statistic"] = signal.stat
        else:
            args["statistic"] = signal.stat
        return args
    queries: list[dict[str, Any]] = [
        {"id": "result", "expression": signal.expression, "label": signal.label, "return_data": True}
    ]
    for metric_id, m in signal.metrics.items():
        queries.append(
            {
                "id": metric_id,
                "return_data": False,
                "metric": {
                    "namespace": m.namespace,
                    "metric_name": m.name,
                    "dimensions": dict(m.dimensions),
                    "period": m.period,
                    "stat": m.stat,
                },
            }
        )
    args["metric_queries"] = queries
    return args


class Observability(pulumi.ComponentResource):
    """Alarms on every tier with their notifications, and one dashboard, per stack."""

    topic_arn: pulumi.Output[str]
    """The alarm topic in the stack's region."""
    topic_arns: dict[str, pulumi.Output[str]]
    """The alarm topic of each region with alarms (the stack's, and us-east-1 for CloudFront and WAF)."""
    alarm_names: list[str]
    dashboard_name: str
    specs: list[alarms.AlarmSpec]

    def __init__(
        self,
        name: str,
        args: ObservabilityArgs,
        *,
        databases: Sequence[PostgresDatabase],
        cache: RedisCache,
        kafka: KafkaCluster,
        edge: Edge,
        cluster: EksCluster,
        app: AppDeployment | None,
        us_east_1: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``us_east_1``: CloudFront's and the CLOUDFRONT-scope WAF's metrics exist only there,
        and an alarm lives in its metric's region. ``app``: whose pods the collector scrapes
        (none: Container Insights only)."""
        super().__init__("webscale:index:Observability", name, None, opts)
        invoke = pulumi.InvokeOptions(parent=self)
        account_id = aws.get_caller_identity(opts=invoke).account_id
        region = aws.get_region(opts=invoke).region

        # Built first: a bad threshold fails before any resource exists.
        consumers = worker_consumers() if app is not None else []  # no app, no worker groups
        self.specs = [
            *(
                spec
                for i, database in enumerate(databases)
                for spec in alarms.database_alarms(
                    args.database,
                    primary=database.primary_identifier,
                    replicas=database.replica_identifiers,
                    instance_class=database.instance_class,
                    allocated_storage_gb=database.allocated_storage_gb,
                    prefix=f"{database.shard_name}-" if i else "",  # the first keeps one database's names
                )
            ),
            *alarms.cache_alarms(args.cache, nodes=cache.node_ids),
            *alarms.kafka_alarms(
                args.kafka, cluster=kafka.physical_name, brokers=kafka.broker_count, consumers=consumers
            ),
            *alarms.edge_alarms(
                args.edge,
                load_balancer=edge.alb_arn_suffix,
                target_group=edge.target_group_arn_suffix,
                distribution_id=edge.distribution_id,
                web_acl=edge.web_acl_name,
            ),
            *alarms.eks_alarms(args.eks, cluster=cluster.cluster_name, max_nodes=cluster.max_nodes),
        ]

        addon = collector.collector(
            name,
            cluster=cluster,
            addon_version=args.collector_addon_version,
            log_retention_days=args.container_log_retention_days,
            app_namespace=app.namespace if app else None,
            parent=self,
        )
        if app is not None:
            collector.allow_scraping(
                name, cluster=cluster, app_namespace=app.namespace, after=[app, addon], parent=self
            )

        # An alarm notifies only a topic in its own region, so us-east-1's alarms get a twin topic.
        topics = {
            region: self._topic(name, args, account_id, provider=None),
            alarms.CLOUDFRONT_REGION: self._topic(f"{name}-us-east-1", args, account_id, provider=us_east_1),
        }
        if region == alarms.CLOUDFRONT_REGION:  # a stack in us-east-1 needs only one
            topics = {region: topics[region]}

        created = [
            self._alarm(name, spec, topics[spec.signal.region or region], us_east_1 if spec.signal.region else None)
            for spec in self.specs
        ]
        self.alarm_names = [stack_name(spec.key, max_len=255) for spec in self.specs]

        graphs = [
            *dashboard.pipeline_graphs(
                cluster=cluster.cluster_name,
                kafka_cluster=kafka.physical_name,
                consumers=consumers,
                load_balancer=edge.alb_arn_suffix,
                target_group=edge.target_group_arn_suffix,
            ),
            *dashboard.alarm_graphs(self.specs),
        ]
        body = dashboard.dashboard_body(graphs, region=region, alarm_arns=[a.arn for a in created], title=stack_name())
        self.dashboard_name = stack_name("operations")
        aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=self.dashboard_name,
            dashboard_body=pulumi.Output.from_input(body).apply(json.dumps),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.topic_arn = topics[region].arn
        self.topic_arns = {r: t.arn for r, t in topics.items()}
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "topic_arns": self.topic_arns,
                "alarm_names": self.alarm_names,
                "dashboard_name": self.dashboard_name,
            }
        )

    def _topic(
        self, name: str, args: ObservabilityArgs, account_id: str, *, provider: aws.Provider | None
    ) -> aws.sns.Topic:
        """A KMS-encrypted topic that this account's alarms publish to, with the subscribers."""
        key = encryption_key(
            f"{name}-alarms",
            description=f"Encrypts the alarm notifications of {stack_name()}",
            alias=stack_name("alarms"),
            parent=self,
            extra_statements=(CLOUDWATCH_USES_TOPIC_KEY,),
            provider=provider,
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        topic = aws.sns.Topic(f"{name}-alarms", name=stack_name("alarms"), kms_master_key_id=key.arn, opts=child)
        under_topic = pulumi.ResourceOptions(parent=topic)
        aws.sns.TopicPolicy(
            f"{name}-alarms",
            arn=topic.arn,
            policy=topic.arn.apply(lambda arn: json.dumps(cloudwatch_publishes(arn, account_id))),
            opts=under_topic,
        )
        for i, email in enumerate(args.email_subscribers):
            aws.sns.TopicSubscription(
                f"{name}-email-{i}", topic=topic.arn, protocol="email", endpoint=email, opts=under_topic
            )
        if args.webhook_url:
            aws.sns.TopicSubscription(
                f"{name}-webhook", topic=topic.arn, protocol="https", endpoint=args.webhook_url, opts=under_topic
            )
        return topic

    def _alarm(
        self, name: str, spec: alarms.AlarmSpec, topic: aws.sns.Topic, provider: aws.Provider | None
    ) -> aws.cloudwatch.MetricAlarm:
        runbook = f"Runbook: docs/operations.md#{spec.runbook}"
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{spec.key}",
            name=stack_name(spec.key, max_len=255),
            alarm_description=f"{spec.summary}. {runbook}",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            **alarm_inputs(spec),
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
