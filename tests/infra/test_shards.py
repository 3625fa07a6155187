"""Sharded PostgreSQL: one PostgresDatabase per shard, each hardened alike, names stable at one shard."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

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
    """prod's database with four shards, planned without the app (which routes to one shard)."""
    database = {**load_stack_config("prod")["webscale:database"], "shards": 4}
    return {"webscale:database": database, "webscale:app": None}


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


def test_shards_with_the_sample_app_are_refused_naming_both_keys():
    database = {**load_stack_config("prod")["webscale:database"], "shards": 2}
    message = settings_problem(**{"webscale:database": database})
    assert "webscale:database.shards (2) > 1 cannot be combined with webscale:app" in message


@pytest.mark.parametrize("shards", [0, 17])
def test_a_shard_count_outside_1_to_16_is_refused(shards: int):
    database = {**load_stack_config("prod")["webscale:database"], "shards": shards}
    assert "webscale:database.shards" in settings_problem(**{"webscale:database": database, "webscale:app": None})
