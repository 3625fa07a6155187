"""A cluster with the KEDA and Load Balancer Controller releases and custom resources of both.

``offline:mistake`` picks one deliberate mistake (``none`` for the correct program):
``no-wait`` (the ScaledObject does not wait for the KEDA release), ``transitive`` (correct: it
waits through the TriggerAuthentication), ``unknown-field``, ``bad-enum``, ``msk-sasl``
(``sasl: aws_msk_iam`` on the kafka scaler), ``unknown-parameter`` (a kafka metadata key KEDA
does not read), ``cpu-metric`` (a cpu trigger without metricType).
"""

import pulumi
import pulumi_kubernetes as k8s

from tests.infra.programs.cluster_kit import cluster

mistake = pulumi.Config("offline").get("mistake") or "none"
aws_opts, k8s_opts = cluster()


def release(chart: str, version: str) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(chart, name=chart, chart=chart, version=version, namespace="kube-system", opts=k8s_opts)


keda = release("keda", "2.18.0")
lbc = release("aws-load-balancer-controller", "1.14.0")


def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=list(resources)))


auth_spec: dict = {"podIdentity": {"provider": "aws"}}
if mistake == "bad-enum":
    auth_spec = {"podIdentity": {"provider": "aws-kiam"}}
auth = k8s.apiextensions.CustomResource(
    "auth",
    api_version="keda.sh/v1alpha1",
    kind="TriggerAuthentication",
    metadata={"name": "msk-iam", "namespace": "app"},
    spec=auth_spec,
    opts=after(keda),
)
kafka_meta = {
    "bootstrapServers": "b-1.msk:9098",
    "consumerGroup": "payment",
    "topic": "orders",
    "lagThreshold": "100",
    "sasl": "oauthbearer",
    "saslTokenProvider": "aws_msk_iam",
    "tls": "enable",
    "awsRegion": "eu-west-1",
}
if mistake == "msk-sasl":
    kafka_meta = {**kafka_meta, "sasl": "aws_msk_iam"}
    del kafka_meta["saslTokenProvider"]
if mistake == "unknown-parameter":
    kafka_meta = {**kafka_meta, "lagThreshhold": "100"}
cpu = {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}
if mistake == "cpu-metric":
    cpu = {"type": "cpu", "metadata": {"value": "70"}}
spec: dict = {
    "scaleTargetRef": {"name": "payment"},
    "minReplicaCount": 1,
    "maxReplicaCount": 3,
    "triggers": [{"type": "kafka", "metadata": kafka_meta, "authenticationRef": {"name": "msk-iam"}}, cpu],
}
if mistake == "unknown-field":
    spec["maxReplicas"] = 3
k8s.apiextensions.CustomResource(
    "payment",
    api_version="keda.sh/v1alpha1",
    kind="ScaledObject",
    metadata={"name": "payment", "namespace": "app"},
    spec=spec,
    opts=after(auth) if mistake == "transitive" else (k8s_opts if mistake == "no-wait" else after(keda, auth)),
)
k8s.apiextensions.CustomResource(
    "api",
    api_version="elbv2.k8s.aws/v1beta1",
    kind="TargetGroupBinding",
    metadata={"name": "api", "namespace": "app"},
    spec={
        "serviceRef": {"name": "api", "port": 8000},
        "targetGroupARN": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/0123456789abcdef",
        "targetType": "ip",
    },
    opts=after(lbc),
)
