"""Sharded PostgreSQL: one PostgresDatabase per shard, each hardened alike, names stable at one shard."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from app.store.shards import parse_shards
from infra.components.app.processes import BY_NAME, PROCESSES
from infra.components.app.sharding import shard_environment, shards_used
from infra.offline.engine import load_stack_config, run_stack
from infra.offline.model import StackRun
from infra.policies import offline
from infra.settings import SettingsError, load_settings

INSTANCE = "aws:rds/instance:Instance"
HARDENING = (
    "storageEncrypted",
    "publiclyAccessible",
    "iamDatabaseAuthenticationEnabled",
    "deletionProtection",
    "autoMinorVersionUpgrade",
    "copyTagsToSnapshot",
    "monitoringInterval",
    "performanceInsightsEnabled",
    "enabledCloudwatchLogsExports",
    "instanceClass",
    "engineVersion",
)


def four_shards() -> dict[str, Any]:
    """prod with four database shards, the sample app included (it routes by customer)."""
    return {"webscale:database": {**load_stack_config("prod")["webscale:database"], "shards": 4}}


@pytest.fixture(scope="module")
def sharded() -> StackRun:
    return run_stack("prod", four_shards())


def primaries(run: StackRun):
    return [r for r in run.of_type(INSTANCE) if not r.inputs.get("replicateSourceDb")]


def test_one_shard_keeps_the_names_a_stack_had_before_sharding(run_of):
    """Raising nothing replaces nothing: the first shard's physical names are the old ones."""
    prod = run_of("prod")
    [primary] = primaries(prod)
    assert primary.name == "database-primary"
    assert primary["identifier"] == "webscale-prod-db"
    assert prod.one("aws:rds/parameterGroup:ParameterGroup")["name"] == "webscale-prod-database-pg16"
    assert prod.one("aws:rds/subnetGroup:SubnetGroup")["name"] == "webscale-prod-database"
    assert {r["identifier"] for r in prod.of_type(INSTANCE)} == {
        "webscale-prod-db",
        "webscale-prod-db-replica-1",
        "webscale-prod-db-replica-2",
    }


def test_four_shards_plan_four_primaries_each_with_the_stacks_replicas(sharded: StackRun):
    shards = primaries(sharded)
    assert sorted(p["identifier"] for p in shards) == [
        "webscale-prod-db",
        "webscale-prod-db-s1",
        "webscale-prod-db-s2",
        "webscale-prod-db-s3",
    ]
    replicas = [r for r in sharded.of_type(INSTANCE) if r.inputs.get("replicateSourceDb")]
    sources = sorted(r["replicateSourceDb"] for r in replicas)
    assert sources == sorted(p["identifier"] for p in shards for _ in range(2))


def test_every_shard_is_hardened_like_the_first(sharded: StackRun):
    reference = {key: primaries(sharded)[0].inputs.get(key) for key in HARDENING}
    assert reference["storageEncrypted"] is True and reference["iamDatabaseAuthenticationEnabled"] is True
    for shard in sharded.of_type(INSTANCE):
        assert {key: shard.inputs.get(key) for key in HARDENING} == reference, shard.name


def test_every_shard_has_its_own_key_parameter_group_and_secret(sharded: StackRun):
    keys = {p["kmsKeyId"] for p in primaries(sharded)}
    groups = {p["parameterGroupName"] for p in primaries(sharded)}
    secrets = sharded.of_type("aws:secretsmanager/secret:Secret")
    assert len(keys) == len(groups) == 4
    assert len({s["namePrefix"] for s in secrets if "database" in s["namePrefix"]}) == 4


def test_outputs_list_every_shards_writer_and_readers(sharded: StackRun):
    shards = sharded.outputs["databaseShards"]
    assert [s["name"] for s in shards] == ["s0", "s1", "s2", "s3"]
    writers = {p.outputs["endpoint"] for p in primaries(sharded)}
    assert {s["writerEndpoint"] for s in shards} == writers
    assert all(len(s["readerEndpoints"]) == 2 for s in shards)


def test_four_shards_pass_every_mandatory_policy(sharded: StackRun):
    found = offline.evaluate(sharded)
    assert [f"{v.policy}: {v.message}" for v in found if v.level == EnforcementLevel.MANDATORY] == []


def settings_problem(**overrides: Any) -> str:
    config = {key: value for key, value in {**load_stack_config("prod"), **overrides}.items() if value is not None}
    with pytest.raises(SettingsError) as error:
        load_settings(config, project="webscale", stack="prod")
    return str(error.value)


@pytest.mark.parametrize("shards", [0, 17])
def test_a_shard_count_outside_1_to_16_is_refused(shards: int):
    database = {**load_stack_config("prod")["webscale:database"], "shards": shards}
    assert "webscale:database.shards" in settings_problem(**{"webscale:database": database, "webscale:app": None})


# -- the app on four shards -------------------------------------------------------------------
def app_config(run: StackRun, name: str = "app-config") -> dict[str, str]:
    [config] = [r for r in run.of_type("kubernetes:core/v1:ConfigMap") if r.inputs["metadata"]["name"] == name]
    return config.inputs["data"]


def policies_by_process(run: StackRun) -> dict[str, dict[str, Any]]:
    prefix = "app-"
    return {
        r.name.removeprefix(prefix): json.loads(r["policy"])
        for r in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.name.removeprefix(prefix) in {p.name for p in PROCESSES}
    }


def connectable_instances(policy: dict[str, Any]) -> set[str]:
    """The DbiResourceIds the policy's rds-db:connect names."""
    return {
        arn.split(":dbuser:")[1].split("/")[0]
        for s in policy["Statement"]
        if s["Action"] == "rds-db:connect"
        for arn in s["Resource"]
    }


def instances_by_shard(run: StackRun) -> dict[str, set[str]]:
    """Each shard's instances (primary and replicas, by DbiResourceId), by ring name."""
    names = {
        p["identifier"]: p["identifier"].removeprefix("webscale-prod-db").lstrip("-") or "s0" for p in primaries(run)
    }
    found: dict[str, set[str]] = {}
    for instance in run.of_type(INSTANCE):
        primary = instance.inputs.get("replicateSourceDb") or instance["identifier"]
        found.setdefault(names[primary], set()).add(instance["resourceId"])
    return found


def test_four_shards_with_the_app_config_map_list_every_shards_writer_and_readers(sharded: StackRun):
    data = app_config(sharded)
    shards = json.loads(data["APP_DB_SHARDS"])
    assert [s["name"] for s in shards] == ["s0", "s1", "s2", "s3"]
    outputs = {s["name"]: s for s in sharded.outputs["databaseShards"]}
    home_host = outputs["s0"]["writerEndpoint"].rsplit(":", 1)[0]
    for shard in shards:
        host = outputs[shard["name"]]["writerEndpoint"].rsplit(":", 1)[0]
        # Same login and database name on every shard; only the host differs.
        assert shard["writer_url"] == data["APP_DB_WRITER_URL"].replace(home_host, host), shard["name"]
        readers = [r.rsplit(":", 1)[0] for r in outputs[shard["name"]]["readerEndpoints"]]
        assert [u.split("@")[1].split(":")[0] for u in shard["reader_urls"]] == readers, shard["name"]
    # The home shard stays the plain writer and readers, as a one-shard stack has them.
    assert data["APP_DB_WRITER_URL"] == shards[0]["writer_url"]
    assert parse_shards(data["APP_DB_SHARDS"])[0].name == "s0"  # the app's own parser accepts it


def test_each_process_may_connect_to_exactly_the_instances_of_the_shards_it_uses(sharded: StackRun):
    by_shard = instances_by_shard(sharded)
    assert sorted(by_shard) == ["s0", "s1", "s2", "s3"] and all(len(ids) == 3 for ids in by_shard.values())
    policies = policies_by_process(sharded)
    for process in PROCESSES:
        expected = {rid for name in shards_used(process, sorted(by_shard)) for rid in by_shard[name]}
        if process.creates_database_login:
            assert connectable_instances(policies[process.name]) == set(), process.name  # it uses the master login
        else:
            assert connectable_instances(policies[process.name]) == expected, process.name
    assert shards_used(BY_NAME["inventory"], ["s0", "s1"]) == ["s0", "s1"]  # stock on home, orders anywhere
    assert shards_used(BY_NAME["topics"], ["s0", "s1"]) == []


def test_bootstrap_may_read_every_shards_master_secret_and_nothing_else_may(sharded: StackRun):
    secrets = {s["arn"] for s in sharded.of_type("aws:secretsmanager/secret:Secret") if "database" in s["namePrefix"]}
    policies = policies_by_process(sharded)
    [read] = [s for s in policies["bootstrap-db"]["Statement"] if s["Sid"] == "ReadMasterSecret"]
    assert set(read["Resource"]) == secrets and len(secrets) == 4
    assert [p for p, doc in policies.items() if "secretsmanager" in json.dumps(doc)] == ["bootstrap-db"]
    arns = json.loads(app_config(sharded, "app-bootstrap")["APP_DB_SHARD_MASTER_SECRET_ARNS"])
    assert sorted(arns) == ["s0", "s1", "s2", "s3"] and set(arns.values()) == secrets


def test_one_shard_gives_the_app_no_shard_map(run_of):
    prod = run_of("prod")
    assert "APP_DB_SHARDS" not in app_config(prod)
    assert set(app_config(prod, "app-bootstrap")) == {"APP_DB_MASTER_SECRET_ARN"}


def test_a_shard_being_added_is_named_joining_in_the_config_map():
    class Home:
        iam_database_user, database_name, port = "app", "app", 5432

    env = shard_environment(["s0", "s1"], [["h0:5432", []], ["h1:5432", ["r1:5432"]]], database=Home(), joining=["s1"])
    assert env["APP_DB_SHARDS_JOINING"] == "s1"
    assert [s.name for s in parse_shards(env["APP_DB_SHARDS"])] == ["s0", "s1"]
    assert "APP_DB_SHARDS_JOINING" not in shard_environment(["s0", "s1"], [["h0", []], ["h1", []]], database=Home())


@pytest.mark.parametrize("joining", [["s0"], ["s4"]])
def test_joining_shards_must_be_shards_of_the_stack_other_than_home(joining: list[str]):
    database = {**load_stack_config("prod")["webscale:database"], "shards": 4}
    app = {**load_stack_config("prod")["webscale:app"], "joiningShards": joining}
    message = settings_problem(**{"webscale:database": database, "webscale:app": app})
    assert f"webscale:app.joiningShards names {joining}" in message and "['s1', 's2', 's3']" in message
