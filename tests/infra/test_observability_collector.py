"""The collector add-on: its IRSA role, Container Insights, and the app metrics it scrapes and ships."""

from __future__ import annotations

import json
import re
from typing import Any

from infra.components.observability.alarms import APP_NAMESPACE
from infra.components.observability.args import ObservabilityArgs
from infra.offline.model import Resource, StackRun
from tests.infra.test_observability_dashboard import dashboard, metric_rows

ADDON = "amazon-cloudwatch-observability"


def addon(run: StackRun) -> Resource:
    (found,) = [a for a in run.of_type("aws:eks/addon:Addon") if a["addonName"] == ADDON]
    return found


def configuration(run: StackRun) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(addon(run)["configurationValues"])
    return config


def test_the_collector_is_the_pinned_addon_with_its_own_irsa_role_and_the_agent_policy(each_stack: StackRun):
    found = addon(each_stack)
    assert found["addonVersion"] == ObservabilityArgs().collector_addon_version
    assert found["clusterName"] == each_stack.one("aws:eks/cluster:Cluster").id
    role = next(r for r in each_stack.of_type("aws:iam/role:Role") if r["arn"] == found["serviceAccountRoleArn"])
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    subjects = {v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")}
    assert subjects == {"system:serviceaccount:amazon-cloudwatch:cloudwatch-agent"}
    attached = {
        a["policyArn"] for a in each_stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["role"] == role.id
    }  # fmt: skip
    assert attached == {"arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"}


def test_the_collector_turns_on_enhanced_container_insights_and_container_logs(each_stack: StackRun):
    config = configuration(each_stack)
    kubernetes = config["agent"]["config"]["logs"]["metrics_collected"]["kubernetes"]
    assert kubernetes == {
        "cluster_name": each_stack.one("aws:eks/cluster:Cluster").id,
        "enhanced_container_insights": True,
    }
    assert config["containerLogs"] == {"enabled": True}


def test_its_log_groups_exist_first_encrypted_and_with_a_retention(each_stack: StackRun):
    cluster = each_stack.one("aws:eks/cluster:Cluster").id
    found = addon(each_stack)
    groups = [
        g
        for g in each_stack.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g["name"].startswith("/aws/containerinsights/")
    ]
    assert {g["name"] for g in groups} == {
        f"/aws/containerinsights/{cluster}/{kind}"
        for kind in ("application", "dataplane", "host", "performance", "prometheus")
    }
    for group in groups:
        assert group["retentionInDays"] == 30 and group["kmsKeyId"].startswith("arn:aws:kms:"), group.name
        assert group.urn in found.dependencies, f"{group.name} must exist before the add-on writes to it"


def app_deployments(run: StackRun) -> list[Resource]:
    namespace = run.outputs["appNamespace"]
    return [
        d for d in run.of_type("kubernetes:apps/v1:Deployment") if d.inputs["metadata"].get("namespace") == namespace
    ]


def test_prometheus_scrapes_every_app_process_on_its_metrics_port_in_the_app_namespace(each_stack: StackRun):
    (job,) = configuration(each_stack)["agent"]["prometheus"]["config"]["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [
        {"role": "pod", "namespaces": {"names": [each_stack.outputs["appNamespace"]]}}
    ]
    keep_port = next(
        r for r in job["relabel_configs"] if r["source_labels"] == ["__meta_kubernetes_pod_container_port_number"]
    )
    keep_part_of = next(
        r
        for r in job["relabel_configs"]
        if r["source_labels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_part_of"]
    )
    deployments = app_deployments(each_stack)
    assert len(deployments) == 6  # api, relay and four workers
    for deployment in deployments:
        template = deployment.inputs["spec"]["template"]
        assert re.fullmatch(keep_part_of["regex"], template["metadata"]["labels"]["app.kubernetes.io/part-of"])
        ports = [p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])]
        assert any(re.fullmatch(keep_port["regex"], str(int(p))) for p in ports), f"{deployment.name} ports {ports}"


def test_the_collector_ships_exactly_the_app_metrics_the_dashboard_draws(each_stack: StackRun):
    prometheus = configuration(each_stack)["agent"]["config"]["logs"]["metrics_collected"]["prometheus"]
    emf = prometheus["emf_processor"]
    assert emf["metric_namespace"] == APP_NAMESPACE
    shipped = {
        (selector.strip("^$"), tuple(dims))
        for declaration in emf["metric_declaration"]
        for selector in declaration["metric_selectors"]
        for dims in declaration["dimensions"]
    }
    drawn = {
        (row[1], tuple(row[2:-1:2]))
        for row in metric_rows(dashboard(each_stack))
        if row[0] == APP_NAMESPACE
    }  # fmt: skip
    assert drawn == shipped


def test_the_app_namespace_admits_the_agent_on_the_metrics_ports_only(each_stack: StackRun):
    (policy,) = [
        p
        for p in each_stack.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.name.endswith("allow-metrics-scrape")
    ]
    assert policy.inputs["metadata"]["namespace"] == each_stack.outputs["appNamespace"]
    (rule,) = policy.inputs["spec"]["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "amazon-cloudwatch"}}}
    ]
    assert sorted(int(p["port"]) for p in rule["ports"]) == [8000, 9100]
