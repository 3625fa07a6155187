"""The app deployment's pure builders: IAM, topics, NetworkPolicies, workloads, config rules."""

from __future__ import annotations

from typing import Any

import pytest

from infra.components.app import iam, network_policies, workloads
from infra.components.app.args import AppArgs, cpu_millicores, memory_bytes
from infra.components.app.config import app_environment, host_of
from infra.components.app.ecr import image_reference, lifecycle_policy
from infra.components.app.processes import BY_NAME, DEPLOYMENTS, PROCESSES
from infra.components.app.topics import replica_ceiling_problems, topic_job_env
from infra.components.kafka import KafkaArgs, topic_specs
from infra.offline.engine import load_stack_config
from infra.settings import SettingsError, load_settings

CLUSTER = "arn:aws:kafka:eu-west-1:123456789012:cluster/webscale-prod/0a1b2c3d-1111-2222-3333-444455556666-7"
UUID = "0a1b2c3d-1111-2222-3333-444455556666-7"
TOPIC = f"arn:aws:kafka:eu-west-1:123456789012:topic/webscale-prod/{UUID}/"
GROUP = f"arn:aws:kafka:eu-west-1:123456789012:group/webscale-prod/{UUID}/"
DB_USERS = ["arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-PRIMARY/app"]
CACHE = (
    "arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:g",
    "arn:aws:elasticache:eu-west-1:123456789012:user:app",
)


MASTER_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1-AbCdEf"
DB_KEY = "arn:aws:kms:eu-west-1:123456789012:key/k"


def policy_of(process: str) -> dict[str, Any] | None:
    return iam.process_policy(
        BY_NAME[process],
        db_user_arns=DB_USERS,
        cache_arns=CACHE,
        kafka_cluster_arn=CLUSTER,
        master_secret=(MASTER_SECRET, DB_KEY, "eu-west-1"),
    )


def allowed(policy: dict[str, Any] | None) -> dict[str, set[str]]:
    """action -> resources it is allowed on."""
    out: dict[str, set[str]] = {}
    for s in (policy or {}).get("Statement", []):
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        for a in actions:
            out.setdefault(a, set()).update(resources)
    return out


# -- IAM ------------------------------------------------------------------------------------
def test_kafka_arn_derives_topic_and_group_from_the_cluster_uuid():
    assert iam.kafka_arn(CLUSTER, "topic", "orders") == TOPIC + "orders"
    assert iam.kafka_arn(CLUSTER, "group", "payment") == GROUP + "payment"


@pytest.mark.parametrize("bad", ["arn:aws:kafka:eu-west-1:1:cluster/name", "arn:aws:s3:::bucket", ""])
def test_kafka_arn_rejects_what_is_not_a_cluster_arn(bad: str):
    with pytest.raises(ValueError, match="not an MSK cluster ARN"):
        iam.kafka_arn(bad, "topic", "orders")


def test_rds_db_user_arns_name_every_instance_and_the_iam_user():
    assert iam.rds_db_user_arns("aws", "eu-west-1", "123456789012", ["db-A", "db-B"], "app") == [
        "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-A/app",
        "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-B/app",
    ]


@pytest.mark.parametrize(
    ("process", "expected"),
    [
        (
            "payment",
            {
                "rds-db:connect": set(DB_USERS),
                "elasticache:Connect": set(CACHE),
                "kafka-cluster:Connect": {CLUSTER},
                "kafka-cluster:WriteDataIdempotently": {CLUSTER},
                "kafka-cluster:DescribeTopic": {TOPIC + "orders", TOPIC + "orders.dlq"},
                "kafka-cluster:ReadData": {TOPIC + "orders"},
                "kafka-cluster:WriteData": {TOPIC + "orders.dlq"},
                "kafka-cluster:DescribeGroup": {GROUP + "payment"},
                "kafka-cluster:AlterGroup": {GROUP + "payment"},
            },
        ),
        (
            "fulfillment",
            {
                "rds-db:connect": set(DB_USERS),
                "elasticache:Connect": set(CACHE),
                "kafka-cluster:Connect": {CLUSTER},
                "kafka-cluster:WriteDataIdempotently": {CLUSTER},
                "kafka-cluster:DescribeTopic": {TOPIC + "inventory", TOPIC + "inventory.dlq"},
                "kafka-cluster:ReadData": {TOPIC + "inventory"},
                "kafka-cluster:WriteData": {TOPIC + "inventory.dlq"},
                "kafka-cluster:DescribeGroup": {GROUP + "fulfillment"},
                "kafka-cluster:AlterGroup": {GROUP + "fulfillment"},
            },
        ),
        (
            "relay",
            {
                "rds-db:connect": set(DB_USERS),
                "kafka-cluster:Connect": {CLUSTER},
                "kafka-cluster:WriteDataIdempotently": {CLUSTER},
                "kafka-cluster:DescribeTopic": {TOPIC + t for t in ("orders", "payments", "inventory", "shipments")},
                "kafka-cluster:WriteData": {TOPIC + t for t in ("orders", "payments", "inventory", "shipments")},
            },
        ),
        ("api", {"rds-db:connect": set(DB_USERS), "elasticache:Connect": set(CACHE)}),
        ("migrate", {"rds-db:connect": set(DB_USERS)}),
        # The master logs in with its password: the job reads the secret, and needs no IAM login.
        ("bootstrap-db", {"secretsmanager:GetSecretValue": {MASTER_SECRET}, "kms:Decrypt": {DB_KEY}}),
        (
            "topics",
            {
                "kafka-cluster:Connect": {CLUSTER},
                **{
                    a: {TOPIC + t for b in ("orders", "payments", "inventory", "shipments") for t in (b, f"{b}.dlq")}
                    for a in ("kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:AlterTopic")
                },
            },
        ),
    ],
)
def test_each_process_may_do_exactly_what_its_code_does(process: str, expected: dict[str, set[str]]):
    assert allowed(policy_of(process)) == expected


@pytest.mark.parametrize("process", [p.name for p in PROCESSES])
def test_no_policy_grants_a_wildcard_or_another_group(process: str):
    for action, resources in allowed(policy_of(process)).items():
        assert "*" not in action, f"{process}: wildcard action {action}"
        for r in resources:
            assert "*" not in r, f"{process}: {action} on wildcard resource {r}"
            if ":group/" in r:
                assert r == GROUP + process, f"{process}: {action} on another group's ARN {r}"


def test_keda_reads_only_the_worker_groups_and_their_topics():
    workers = [p for p in PROCESSES if p.kind == "worker"]
    rights = allowed(iam.keda_lag_reader_policy(CLUSTER, workers))
    assert rights == {
        "kafka-cluster:Connect": {CLUSTER},
        "kafka-cluster:DescribeTopic": {TOPIC + t for t in ("orders", "payments", "inventory")},
        "kafka-cluster:DescribeGroup": {GROUP + g for g in ("payment", "inventory", "notification", "fulfillment")},
    }


# -- topics ---------------------------------------------------------------------------------
def test_topics_job_env_comes_from_the_kafka_topic_specs():
    env = topic_job_env(topic_specs(KafkaArgs(broker_count=3, partitions_per_topic=6, max_consumer_replicas=6)))
    assert env == {
        "APP_TOPIC_PARTITIONS": "6",
        "APP_TOPIC_REPLICATION_FACTOR": "3",
        "APP_TOPIC_MIN_INSYNC_REPLICAS": "2",
        "APP_TOPIC_RETENTION_MS": str(168 * 3_600_000),
        "APP_DLQ_RETENTION_MS": str(336 * 3_600_000),
        "APP_DLQ_PARTITIONS": "1",
    }


def test_replica_ceiling_names_the_worker_and_the_topic():
    workers = [p for p in PROCESSES if p.kind == "worker"]
    maxima = {"payment": 7, "inventory": 6, "notification": 6, "fulfillment": 6}
    problems = replica_ceiling_problems(maxima, workers, {"orders": 6, "payments": 6, "inventory": 6})
    assert problems == [
        "webscale:app.workers.payment.maxReplicas (7) exceeds the 6 partitions of topic 'orders': "
        "members beyond that get no partition"
    ]


# -- NetworkPolicies ------------------------------------------------------------------------
def test_network_policies_deny_by_default_and_open_only_what_each_process_needs():
    pols = network_policies.policies(
        PROCESSES, vpc_cidr="10.0.0.0/16", data_cidrs=["10.0.192.0/21"], aws_api_cidrs=["10.0.0.0/16"]
    )
    assert pols["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    ports = {
        name.removesuffix("-egress"): sorted(p["port"] for rule in spec["egress"] for p in rule["ports"])
        for name, spec in pols.items()
        if name.endswith("-egress")
    }
    assert ports == {
        "api": [443, 5432, 6379],
        "relay": [443, 5432, 9098],
        "payment": [443, 5432, 6379, 9098],
        "inventory": [443, 5432, 6379, 9098],
        "notification": [443, 5432, 6379, 9098],
        "fulfillment": [443, 5432, 6379, 9098],
        "bootstrap-db": [443, 5432],  # Secrets Manager (443), then the master login
        "migrate": [443, 5432],
        "topics": [443, 9098],
    }
    ingress = pols["api-ingress"]["ingress"]
    assert ingress == [{"from": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 8000}]}]


# -- workloads ------------------------------------------------------------------------------
def test_deployments_leave_replicas_to_their_autoscaler():
    args = AppArgs(image="1.0.0")
    for p in DEPLOYMENTS:
        assert "replicas" not in workloads.deployment_spec(p, args, image="repo:1.0.0", config_maps=["c"])


def test_only_the_api_gets_a_pre_stop_pause():
    args = AppArgs(image="1.0.0", pre_stop_seconds=12)
    for p in DEPLOYMENTS:
        container = workloads.deployment_spec(p, args, image="i", config_maps=[])["template"]["spec"]["containers"][0]
        expected = {"preStop": {"sleep": {"seconds": 12}}} if p.name == "api" else None
        assert container.get("lifecycle") == expected, p.name


def test_worker_triggers_watch_the_own_group_on_each_consumed_topic_and_cpu():
    args = AppArgs(image="1.0.0")
    triggers = workloads.worker_triggers(
        BY_NAME["inventory"], args.workers.inventory, bootstrap_servers="b:9098", region="eu-west-1", auth="a"
    )
    assert [(t["type"], t["metadata"].get("consumerGroup"), t["metadata"].get("topic")) for t in triggers] == [
        ("kafka", "inventory", "payments"),
        ("cpu", None, None),
    ]
    meta = triggers[0]["metadata"]
    assert (meta["sasl"], meta["saslTokenProvider"], meta["tls"]) == ("oauthbearer", "aws_msk_iam", "enable")


# -- config, image, ECR ---------------------------------------------------------------------
def test_app_environment_has_no_password_and_strips_the_rds_port():
    env = app_environment(
        AppArgs(image="1.0.0"),
        region="eu-west-1",
        db_user="app",
        db_name="orders",
        db_port=5432,
        writer="w.rds.amazonaws.com:5432",
        readers=["r1.rds.amazonaws.com:5432", "r2.rds.amazonaws.com:5432"],
        redis_user="app",
        redis_host="master.c.cache.amazonaws.com",
        redis_port=6379,
        redis_group_id="g",
        bootstrap_brokers="b-1:9098,b-2:9098",
        auth_issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool",
        auth_client_id="client",
    )
    assert env["APP_DB_WRITER_URL"] == "postgresql+asyncpg://app@w.rds.amazonaws.com:5432/orders"
    assert env["APP_DB_READER_URLS"] == (
        "postgresql+asyncpg://app@r1.rds.amazonaws.com:5432/orders,postgresql+asyncpg://app@r2.rds.amazonaws.com:5432/orders"
    )
    assert env["APP_REDIS_URL"] == "rediss://app@master.c.cache.amazonaws.com:6379/0"
    assert not [k for k in env if "PASSWORD" in k]


@pytest.mark.parametrize(("endpoint", "host"), [("h.example:5432", "h.example"), ("h.example", "h.example")])
def test_host_of(endpoint: str, host: str):
    assert host_of(endpoint) == host


def test_image_reference_uses_at_for_digests():
    assert image_reference("r.ecr/app", "1.2.3") == "r.ecr/app:1.2.3"
    assert image_reference("r.ecr/app", "sha256:" + "a" * 64) == "r.ecr/app@sha256:" + "a" * 64


def test_lifecycle_policy_expires_untagged_first_then_keeps_the_newest_tagged():
    from infra.components.app.args import EcrArgs

    rules = lifecycle_policy(EcrArgs(keep_tagged_images=15, untagged_expiry_days=3))["rules"]
    assert [(r["rulePriority"], r["selection"]["tagStatus"], r["selection"]["countNumber"]) for r in rules] == [
        (1, "untagged", 3),
        (2, "tagged", 15),
    ]


@pytest.mark.parametrize(("q", "m"), [("250m", 250), ("0.5", 500), ("2", 2000)])
def test_cpu_quantities(q: str, m: int):
    assert cpu_millicores(q) == m


@pytest.mark.parametrize(("q", "b"), [("256Mi", 256 * 2**20), ("1Gi", 2**30), ("500M", 500 * 10**6)])
def test_memory_quantities(q: str, b: int):
    assert memory_bytes(q) == b


# -- settings: each bad value names its key -----------------------------------------------------
def problems_with(app: dict[str, Any], **extra: Any) -> list[str]:
    config = {**load_stack_config("staging"), "webscale:app": {"image": "1.0.0", **app}, **extra}
    with pytest.raises(SettingsError) as caught:
        load_settings(config, project="webscale", stack="test")
    return caught.value.problems


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        ({"image": "latest"}, 'webscale:app.image = "latest": must not be latest'),
        ({"image": ""}, 'webscale:app.image = "": must name an image tag'),
        ({"image": "sha256:abc"}, 'webscale:app.image = "sha256:abc": must be an image tag'),
        (
            {"api": {"minReplicas": 5, "maxReplicas": 2}},
            "webscale:app.api: minReplicas (5) must not exceed maxReplicas (2)",
        ),
        (
            {"workers": {"payment": {"minReplicas": 4, "maxReplicas": 3}}},
            "webscale:app.workers.payment: minReplicas (4) must not exceed maxReplicas (3)",
        ),
        (
            {
                "api": {
                    "resources": {
                        "requests": {"cpu": "1", "memory": "256Mi"},
                        "limits": {"cpu": "500m", "memory": "512Mi"},
                    }
                }
            },
            "webscale:app.api.resources: requests.cpu (1) must not exceed limits.cpu (500m)",
        ),
        (
            {
                "relay": {
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "1Gi"},
                        "limits": {"cpu": "1", "memory": "512Mi"},
                    }
                }
            },
            "webscale:app.relay.resources: requests.memory (1Gi) must not exceed limits.memory (512Mi)",
        ),
        (
            {
                "api": {
                    "resources": {"requests": {"cpu": "lots", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}
                }
            },
            "webscale:app.api.resources.requests.cpu = \"lots\": 'lots' is not a CPU quantity",
        ),
        (
            {"preStopSeconds": 30, "terminationGraceSeconds": 20},
            "webscale:app: terminationGraceSeconds (20) must exceed preStopSeconds (30)",
        ),
        ({"zoneSpread": "Sometimes"}, "webscale:app.zoneSpread"),
        ({"replicas": 3}, "webscale:app.replicas: unknown key"),
    ],
)
def test_bad_app_values_name_their_key(app: dict[str, Any], expected: str):
    found = problems_with(app)
    assert any(p.startswith(expected) for p in found), found


def test_worker_max_replicas_above_the_partitions_names_both_keys():
    # staging: 6 partitions per topic
    found = problems_with({"workers": {"notification": {"maxReplicas": 7}}})
    assert any(
        "webscale:app.workers.notification.maxReplicas (7) must be <= webscale:kafka.partitionsPerTopic (6)" in p
        for p in found
    ), found


def test_image_is_optional_so_a_first_deploy_can_create_the_repository_alone():
    config = {**load_stack_config("staging"), "webscale:app": {}}
    app = load_settings(config, project="webscale", stack="test").app
    assert app is not None and app.image is None


def test_grace_period_shorter_than_the_alb_deregistration_delay_names_both_keys():
    found = problems_with({"terminationGraceSeconds": 20}, **{"webscale:edge": {"deregistrationDelaySeconds": 30}})
    assert any(
        "webscale:app.terminationGraceSeconds (20) must exceed webscale:edge.deregistrationDelaySeconds (30)" in p
        for p in found
    ), found
