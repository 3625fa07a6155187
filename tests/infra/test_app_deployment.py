"""The AppDeployment in each stack's graph: scaling, identity, hardening, wiring to the data tier."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.components.app.processes import PROCESSES
from infra.components.kafka import topic_specs
from infra.offline.engine import load_stack_config
from infra.offline.model import Resource, StackRun
from infra.settings import StackSettings, load_settings

APP = "webscale:index:AppDeployment"
BUILT_IN = ("core/", "apps/", "batch/", "policy/", "autoscaling/", "networking.k8s.io/")


def settings_of(run: StackRun) -> StackSettings:
    return load_settings(load_stack_config(run.stack), project="webscale", stack=run.stack)


def objects(run: StackRun, kind: str) -> dict[str, dict[str, Any]]:
    """The app's Kubernetes objects of ``kind``, by metadata.name."""
    return {
        r.inputs["metadata"]["name"]: r.inputs
        for r in run.resources
        if r.type.startswith("kubernetes:")
        and r.type.endswith(f":{kind}")
        and r.inputs.get("metadata")
        and r.inputs["metadata"].get("namespace") == settings_of(run).app.namespace  # type: ignore[union-attr]
    }


def k8s_resources(run: StackRun) -> list[Resource]:
    return [
        r
        for r in run.resources
        if r.type.startswith("kubernetes:") and r.custom and r.type.split(":")[1] != "helm.sh/v3"
    ]


def app_resources(run: StackRun) -> list[Resource]:
    app = next(r for r in run.resources if r.type == APP)
    urns = {app.urn}
    out = []
    for r in run.resources:  # parents come before children
        if r.parent in urns:
            urns.add(r.urn)
            out.append(r)
    return out


def pods(run: StackRun) -> dict[str, dict[str, Any]]:
    """Pod specs of every Deployment and Job, by workload name."""
    found = {f"Deployment {n}": d["spec"]["template"]["spec"] for n, d in objects(run, "Deployment").items()}
    found |= {f"Job {n}": j["spec"]["template"]["spec"] for n, j in objects(run, "Job").items()}
    return found


# -- autoscaling ----------------------------------------------------------------------------
def test_api_hpa_targets_the_api_deployment_at_cpu_70_with_the_stack_bounds(each_stack: StackRun):
    api = settings_of(each_stack).app.api  # type: ignore[union-attr]
    hpa = objects(each_stack, "HorizontalPodAutoscaler")["api"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (api.min_replicas, api.max_replicas)
    assert hpa["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
    ]
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_no_deployment_sets_replicas(each_stack: StackRun):
    for name, d in objects(each_stack, "Deployment").items():
        assert "replicas" not in d["spec"], f"Deployment {name} sets replicas, fighting its autoscaler"


def test_workers_scale_on_their_own_consumer_group_and_topic(each_stack: StackRun):
    scaled = objects(each_stack, "ScaledObject")
    brokers = each_stack.outputs["kafkaBootstrapBrokersIam"]
    for p in (p for p in PROCESSES if p.kind == "worker"):
        spec = scaled[p.name]["spec"]
        assert spec["scaleTargetRef"]["name"] == p.name
        kafka = [t for t in spec["triggers"] if t["type"] == "kafka"]
        assert [(t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in kafka] == [
            (p.name, topic) for topic in p.consumes
        ], p.name
        for t in kafka:
            assert t["metadata"]["bootstrapServers"] == brokers
            meta = t["metadata"]
            assert (meta["sasl"], meta["saslTokenProvider"], meta["tls"]) == ("oauthbearer", "aws_msk_iam", "enable")
            assert t["metadata"]["awsRegion"] == each_stack.region
            assert t["authenticationRef"] == {"name": "msk-iam"}
        assert {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}} in spec["triggers"]
    auth = objects(each_stack, "TriggerAuthentication")["msk-iam"]["spec"]
    assert auth == {"podIdentity": {"provider": "aws"}}


def test_every_deployment_has_exactly_one_autoscaler(each_stack: StackRun):
    hpas = [h["spec"]["scaleTargetRef"]["name"] for h in objects(each_stack, "HorizontalPodAutoscaler").values()]
    keda = [s["spec"]["scaleTargetRef"]["name"] for s in objects(each_stack, "ScaledObject").values()]
    assert not set(hpas) & set(keda), f"both an HPA and a ScaledObject on {set(hpas) & set(keda)}"
    assert sorted(hpas + keda) == sorted(objects(each_stack, "Deployment")), "a Deployment without an autoscaler"
    assert hpas == ["api"]


def test_worker_max_replicas_within_the_consumed_topic_partitions(each_stack: StackRun):
    partitions = {t.name: t.partitions for t in topic_specs(settings_of(each_stack).kafka)}
    scaled = objects(each_stack, "ScaledObject")
    for p in (p for p in PROCESSES if p.kind == "worker"):
        for topic in p.consumes:
            assert scaled[p.name]["spec"]["maxReplicaCount"] <= partitions[topic], f"{p.name} on {topic}"


# -- pods -----------------------------------------------------------------------------------
def test_requests_and_limits_are_as_configured_per_stack(each_stack: StackRun):
    app = settings_of(each_stack).app
    assert app is not None
    configured = {"api": app.api, "relay": app.relay, **app.workers.by_name()}
    for name, d in objects(each_stack, "Deployment").items():
        want = configured[name].resources
        got = d["spec"]["template"]["spec"]["containers"][0]["resources"]
        assert got == {
            "requests": {"cpu": want.requests.cpu, "memory": want.requests.memory},
            "limits": {"cpu": want.limits.cpu, "memory": want.limits.memory},
        }, name
    if each_stack.stack == "prod":
        api = objects(each_stack, "Deployment")["api"]["spec"]["template"]["spec"]["containers"][0]["resources"]
        assert api == {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}


def test_every_long_running_container_has_http_probes(each_stack: StackRun):
    for name, d in objects(each_stack, "Deployment").items():
        c = d["spec"]["template"]["spec"]["containers"][0]
        port = "http" if name == "api" else "metrics"
        assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": port}, name
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}, name
        assert c["ports"][0]["containerPort"] == (8000 if name == "api" else 9100), name


def test_every_pod_and_container_is_restricted(each_stack: StackRun):
    found = pods(each_stack)
    assert len(found) == 9, sorted(found)
    for where, pod in found.items():
        sc = pod["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] >= 10000, where
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert sc["runAsGroup"] and sc["fsGroup"], where
        for c in pod["containers"] + pod.get("initContainers", []):
            csc = c["securityContext"]
            assert csc["allowPrivilegeEscalation"] is False, where
            assert csc["readOnlyRootFilesystem"] is True, where
            assert csc["capabilities"] == {"drop": ["ALL"]}, where
            assert csc["runAsNonRoot"] is True, where
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"], where
            assert c["resources"]["requests"] and c["resources"]["limits"], where


def test_api_pods_spread_over_zones_and_outlive_the_alb_deregistration(each_stack: StackRun):
    app = settings_of(each_stack).app
    assert app is not None
    pod = objects(each_stack, "Deployment")["api"]["spec"]["template"]["spec"]
    keys = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert keys["topology.kubernetes.io/zone"]["maxSkew"] == 1
    assert "kubernetes.io/hostname" in keys
    assert pod["containers"][0]["lifecycle"] == {"preStop": {"sleep": {"seconds": app.pre_stop_seconds}}}
    assert pod["terminationGracePeriodSeconds"] > app.pre_stop_seconds


def test_jobs_are_bounded_and_run_before_the_deployments(each_stack: StackRun):
    jobs = {r.inputs["metadata"]["name"]: r for r in k8s_resources(each_stack) if r.type.endswith(":Job")}
    release = settings_of(each_stack).app.release  # type: ignore[union-attr]
    assert sorted(jobs) == [f"bootstrap-db-{release}", f"migrate-{release}", f"topics-{release}"]
    for name, job in jobs.items():
        spec = job.inputs["spec"]
        assert spec["backoffLimit"] >= 1 and spec["ttlSecondsAfterFinished"] > 0, name
        assert spec["template"]["spec"]["restartPolicy"] == "Never", name
    deployments = [r for r in k8s_resources(each_stack) if r.type.endswith(":Deployment")]
    migrate = jobs[f"migrate-{release}"].urn
    for d in deployments:
        assert migrate in d.dependencies, f"Deployment {d.inputs['metadata']['name']} does not wait for migrations"


def test_topics_job_gets_the_kafka_topic_specs(each_stack: StackRun):
    kafka = settings_of(each_stack).kafka
    topics = objects(each_stack, "ConfigMap")["app-topics"]["data"]
    assert topics["APP_TOPIC_PARTITIONS"] == str(kafka.partitions_per_topic)
    assert topics["APP_TOPIC_RETENTION_MS"] == str(kafka.log_retention_hours * 3_600_000)
    job = next(j for n, j in objects(each_stack, "Job").items() if n.startswith("topics-"))
    env_from = job["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert {"configMapRef": {"name": "app-topics"}} in env_from


# -- identity ---------------------------------------------------------------------------------
def roles_by_service_account(run: StackRun) -> dict[str, Resource]:
    roles = {r["arn"]: r for r in run.of_type("aws:iam/role:Role")}
    return {
        name: roles[sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]]
        for name, sa in objects(run, "ServiceAccount").items()
    }


def inline_policies(run: StackRun, role: Resource) -> list[dict[str, Any]]:
    return [json.loads(p["policy"]) for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p["role"] == role.id]


def test_each_process_has_its_own_service_account_and_role(each_stack: StackRun):
    roles = roles_by_service_account(each_stack)
    assert sorted(roles) == sorted(p.name for p in PROCESSES)
    assert len({r.urn for r in roles.values()}) == len(roles), "two service accounts share a role"
    for name, pod in pods(each_stack).items():
        kind, workload = name.split()
        release = settings_of(each_stack).app.release  # type: ignore[union-attr]
        expected = workload if kind == "Deployment" else workload.removesuffix(f"-{release}")
        assert pod["serviceAccountName"] == expected, name


def test_irsa_trust_names_exactly_its_own_service_account(each_stack: StackRun):
    namespace = settings_of(each_stack).app.namespace  # type: ignore[union-attr]
    for sa, role in roles_by_service_account(each_stack).items():
        trust = json.loads(role["assumeRolePolicy"])
        [statement] = trust["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity", sa
        conditions = statement["Condition"]["StringEquals"]
        subs = [v for k, v in conditions.items() if k.endswith(":sub")]
        auds = [v for k, v in conditions.items() if k.endswith(":aud")]
        assert subs == [f"system:serviceaccount:{namespace}:{sa}"], sa
        assert auds == ["sts.amazonaws.com"], sa


def test_irsa_policies_name_only_their_own_resources(each_stack: StackRun):
    db_ids = {r["resourceId"] for r in each_stack.of_type("aws:rds/instance:Instance")}
    groups = {p.name for p in PROCESSES}
    for sa, role in roles_by_service_account(each_stack).items():
        for policy in inline_policies(each_stack, role):
            for s in policy["Statement"]:
                resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
                for arn in resources:
                    assert "*" not in arn, f"{sa}: {s['Action']} on {arn}"
                    if ":group/" in arn:
                        assert arn.rsplit("/", 1)[-1] == sa, f"{sa} may touch group {arn}"
                        assert arn.rsplit("/", 1)[-1] in groups
                    if arn.startswith("arn:aws:rds-db:"):
                        assert arn.split(":dbuser:")[1].split("/")[0] in db_ids, arn


def test_database_access_covers_the_primary_and_every_replica(each_stack: StackRun):
    db_ids = {r["resourceId"] for r in each_stack.of_type("aws:rds/instance:Instance")}
    role = roles_by_service_account(each_stack)["api"]
    [policy] = inline_policies(each_stack, role)
    [rds] = [s for s in policy["Statement"] if s["Action"] == "rds-db:connect"]
    assert {a.split(":dbuser:")[1].split("/")[0] for a in rds["Resource"]} == db_ids


def test_keda_operator_may_read_the_worker_groups_lag(each_stack: StackRun):
    [policy] = [p for p in each_stack.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("keda-msk-lag")]
    document = json.loads(policy["policy"])
    actions = {
        a for s in document["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {"kafka-cluster:Connect", "kafka-cluster:DescribeTopic", "kafka-cluster:DescribeGroup"}
    keda_roles = [r for r in each_stack.of_type("aws:iam/role:Role") if "keda" in r.name]
    assert policy["role"] in {r.id for r in keda_roles}


# -- the database login ------------------------------------------------------------------------
def test_migrate_and_topics_wait_for_the_login_bootstrap(each_stack: StackRun):
    release = settings_of(each_stack).app.release  # type: ignore[union-attr]
    jobs = {r.inputs["metadata"]["name"]: r for r in k8s_resources(each_stack) if r.type.endswith(":Job")}
    bootstrap = jobs[f"bootstrap-db-{release}"]
    for job in (f"migrate-{release}", f"topics-{release}"):
        assert bootstrap.urn in jobs[job].dependencies, f"{job} may start before the app's login exists"
    user = settings_of(each_stack).database.iam_database_user
    assert bootstrap.inputs["metadata"]["annotations"]["webscale.io/creates-database-logins"] == user


def test_only_the_bootstrap_job_may_read_the_master_secret(each_stack: StackRun):
    [db] = [r for r in each_stack.resources if r.type == "webscale:index:PostgresDatabase"]
    primary = next(r for r in each_stack.of_type("aws:rds/instance:Instance") if not r.inputs.get("replicateSourceDb"))
    managed = primary.get("masterUserSecrets") or []
    own = [s["arn"] for s in each_stack.children(db, "aws:secretsmanager/secret:Secret")]
    secret_arn = managed[0]["secretArn"] if managed else own[0]
    roles = roles_by_service_account(each_stack)
    [policy] = inline_policies(each_stack, roles["bootstrap-db"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"ReadMasterSecret", "DecryptMasterSecret"}, "bootstrap-db may do more than read the secret"
    assert by_sid["ReadMasterSecret"]["Action"] == "secretsmanager:GetSecretValue"
    assert by_sid["ReadMasterSecret"]["Resource"] == secret_arn
    assert by_sid["DecryptMasterSecret"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{each_stack.region}.amazonaws.com"}
    }
    for sa, role in roles.items():
        if sa != "bootstrap-db":
            for p in inline_policies(each_stack, role):
                assert "secretsmanager" not in json.dumps(p), f"{sa} may touch Secrets Manager"
    config = objects(each_stack, "ConfigMap")
    assert config["app-bootstrap"]["data"] == {"APP_DB_MASTER_SECRET_ARN": secret_arn}
    assert "APP_DB_MASTER_SECRET_ARN" not in config["app-config"]["data"]


# -- configuration and secrets ----------------------------------------------------------------
def test_config_map_carries_the_components_endpoints(each_stack: StackRun):
    data = objects(each_stack, "ConfigMap")["app-config"]["data"]
    out = each_stack.outputs
    writer_host = out["databaseWriterEndpoint"].rsplit(":", 1)[0]
    assert f"@{writer_host}:5432/" in data["APP_DB_WRITER_URL"]
    readers = [r.rsplit(":", 1)[0] for r in out["databaseReaderEndpoints"]]
    assert [u.split("@")[1].split(":")[0] for u in filter(None, data["APP_DB_READER_URLS"].split(","))] == readers
    assert f"@{out['cacheEndpoint']}:6379/0" in data["APP_REDIS_URL"]
    assert data["APP_KAFKA_BOOTSTRAP_SERVERS"] == out["kafkaBootstrapBrokersIam"]
    assert (data["APP_DB_AUTH"], data["APP_REDIS_AUTH"], data["APP_KAFKA_AUTH"]) == ("iam", "iam", "iam")
    for d in objects(each_stack, "Deployment").values():
        assert d["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [{"configMapRef": {"name": "app-config"}}]


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [(f"{path}.{k}", str(k)), *_strings(v, f"{path}.{k}")]]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) else []


MASTER_SECRET_REFERENCE = ".data.APP_DB_MASTER_SECRET_ARN"
"""The one place the word may appear: bootstrap-db's ConfigMap names the master secret's ARN
(a reference; only that Job's role may read the secret)."""


def test_no_secret_and_no_password_in_any_kubernetes_object(each_stack: StackRun):
    objs = k8s_resources(each_stack)
    assert not [r.name for r in objs if r.type == "kubernetes:core/v1:Secret"], "a Kubernetes Secret exists"
    for r in (r for r in objs if r in app_resources(each_stack)):
        for path, text in _strings(r.inputs):
            if r.inputs["metadata"]["name"] == "app-bootstrap" and path == MASTER_SECRET_REFERENCE:
                assert text == "APP_DB_MASTER_SECRET_ARN" or text.startswith("arn:aws:secretsmanager:"), text
                continue
            assert not re.search(r"passw(or)?d|secret", text, re.I) or "secretKeyRef" in path, f"{r.name}{path}: {text}"
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", text), f"{r.name}{path} has credentials in a URL"
        for path, _ in _strings(r.inputs):
            assert "secretKeyRef" not in path and "secretRef" not in path, f"{r.name}{path}"


# -- the edge ---------------------------------------------------------------------------------
def test_target_group_binding_registers_api_pods_in_the_edge_target_group(each_stack: StackRun):
    [tg] = each_stack.of_type("aws:lb/targetGroup:TargetGroup")
    tgb = objects(each_stack, "TargetGroupBinding")["api"]["spec"]
    assert tgb == {"serviceRef": {"name": "api", "port": 8000}, "targetGroupARN": tg["arn"], "targetType": "ip"}
    service = objects(each_stack, "Service")["api"]["spec"]
    assert service["type"] == "ClusterIP" and service["ports"][0]["port"] == 8000


def test_alb_security_group_is_admitted_to_the_nodes_on_the_api_port_only(each_stack: StackRun):
    [rule] = [
        r for r in app_resources(each_stack) if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    ]
    assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (8000, 8000, "tcp")
    node_sgs = {r.id for r in each_stack.of_type("aws:ec2/securityGroup:SecurityGroup") if "node" in r.name}
    assert rule["securityGroupId"] in node_sgs
    assert rule["referencedSecurityGroupId"] not in node_sgs


# -- resilience and network -------------------------------------------------------------------
def test_every_deployment_has_a_disruption_budget(each_stack: StackRun):
    pdbs = objects(each_stack, "PodDisruptionBudget")
    deployments = objects(each_stack, "Deployment")
    assert sorted(pdbs) == sorted(deployments)
    for name, pdb in pdbs.items():
        assert pdb["spec"]["selector"] == deployments[name]["spec"]["selector"], name
        assert pdb["spec"]["maxUnavailable"] == 1, name


def test_namespace_enforces_the_restricted_pod_security_standard(each_stack: StackRun):
    namespace = settings_of(each_stack).app.namespace  # type: ignore[union-attr]
    [ns] = [
        r
        for r in k8s_resources(each_stack)
        if r.type == "kubernetes:core/v1:Namespace" and r.inputs["metadata"]["name"] == namespace
    ]
    labels = ns.inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted", mode


def test_namespace_denies_all_traffic_by_default(each_stack: StackRun):
    policies = objects(each_stack, "NetworkPolicy")
    assert policies["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    ingress = [n for n, p in policies.items() if "Ingress" in p["spec"]["policyTypes"] and n != "default-deny"]
    # The collector's scrape of /metrics is the only other ingress (test_observability_collector.py).
    assert sorted(ingress) == ["allow-metrics-scrape", "api-ingress"]


def test_aws_api_egress_follows_the_vpc_endpoints(each_stack: StackRun):
    settings = settings_of(each_stack)
    expected = settings.network.cidr if settings.network.vpc_endpoints else "0.0.0.0/0"
    api = objects(each_stack, "NetworkPolicy")["api-egress"]["spec"]["egress"]
    https = [rule for rule in api if rule["ports"] == [{"protocol": "TCP", "port": 443}]]
    assert https == [{"to": [{"ipBlock": {"cidr": expected}}], "ports": [{"protocol": "TCP", "port": 443}]}]


# -- image ------------------------------------------------------------------------------------
def test_image_repository_is_immutable_scanned_encrypted_and_pruned(each_stack: StackRun):
    [repo] = [r for r in app_resources(each_stack) if r.type == "aws:ecr/repository:Repository"]
    assert repo.emulation == "moto"
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    [lifecycle] = [r for r in app_resources(each_stack) if r.type == "aws:ecr/lifecyclePolicy:LifecyclePolicy"]
    assert lifecycle.emulation == "moto" and lifecycle["repository"] == repo.id


def test_containers_run_the_configured_image_from_the_stack_repository(each_stack: StackRun):
    app = settings_of(each_stack).app
    assert app is not None
    [repo] = [r for r in app_resources(each_stack) if r.type == "aws:ecr/repository:Repository"]
    sep = "@" if app.image.startswith("sha256:") else ":"
    for where, pod in pods(each_stack).items():
        assert pod["containers"][0]["image"] == f"{repo['repositoryUrl']}{sep}{app.image}", where


# -- the offline engine ----------------------------------------------------------------------
def test_kubernetes_objects_are_schema_validated_or_flagged(each_stack: StackRun):
    for r in k8s_resources(each_stack):
        if r not in app_resources(each_stack):
            continue
        group = r.type.split(":")[1]
        if group.startswith(BUILT_IN):
            assert r.note.startswith("validated against the Kubernetes"), f"{r.type} {r.name}: {r.note}"
        else:
            assert r.note.endswith("CRD schema (strict)"), f"{r.type} {r.name}: {r.note}"


CRD_CHARTS = {"keda.sh": "keda", "elbv2.k8s.aws": "aws-load-balancer-controller"}


def test_custom_resources_wait_for_the_release_that_installs_their_crd(each_stack: StackRun):
    releases = {r.inputs["chart"]: r.urn for r in each_stack.of_type("kubernetes:helm.sh/v3:Release")}
    custom = [r for r in app_resources(each_stack) if r.type.split(":")[1].split("/")[0] in CRD_CHARTS]
    assert {r.type.split(":")[-1] for r in custom} == {"ScaledObject", "TriggerAuthentication", "TargetGroupBinding"}
    for r in custom:
        chart = CRD_CHARTS[r.type.split(":")[1].split("/")[0]]
        assert releases[chart] in r.dependencies, f"{r.type} {r.name} does not wait for the {chart} release"


@pytest.mark.parametrize("stack", ["dev"])
def test_bad_max_replicas_stops_the_run_naming_the_key(stack: str):
    from infra.offline.engine import run_stack
    from infra.settings import SettingsError

    config = load_stack_config(stack)
    app = {**config["webscale:app"], "workers": {"payment": {"maxReplicas": 4}}}
    with pytest.raises(SettingsError, match=r"webscale:app\.workers\.payment\.maxReplicas \(4\)"):
        run_stack(stack, {"webscale:app": app})


def test_vpc_cni_enforces_network_policies(each_stack: StackRun):
    [cni] = [r for r in each_stack.of_type("aws:eks/addon:Addon") if r["addonName"] == "vpc-cni"]
    assert json.loads(cni["configurationValues"]) == {"enableNetworkPolicy": "true"}


def test_pods_wait_for_their_account_permissions_and_configuration(each_stack: StackRun):
    resources = app_resources(each_stack)
    by_name = {
        (
            r.type.split(":")[-1],
            r.inputs.get("metadata", {}).get("name") if r.type.startswith("kubernetes:") else r.name,
        ): r
        for r in resources
    }
    config = by_name[("ConfigMap", "app-config")].urn
    for r in resources:
        if not r.type.endswith((":Deployment", ":Job")):
            continue
        process = r.inputs["spec"]["template"]["spec"]["serviceAccountName"]
        account = by_name[("ServiceAccount", process)].urn
        policy = by_name[("RolePolicy", f"app-{process}")].urn
        for needed in (account, policy, config):
            assert needed in r.dependencies, f"{r.name} does not wait for {needed}"
