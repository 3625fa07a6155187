"""The PostgresDatabase component in every stack, as moto built it, and its configuration rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.offline.engine import run_stack
from infra.offline.model import StackRun
from tests.infra.data_tier import INGRESS, SECURITY_GROUP, component, ingress_of, problems_with

INSTANCE = "aws:rds/instance:Instance"
PROGRAMS = Path(__file__).parent / "programs"
PASSWORD_KEY = re.compile(r"pass(word)?s?$|secretString$|authToken$", re.IGNORECASE)


def primary(run: StackRun):
    return next(r for r in run.of_type(INSTANCE) if not r.inputs.get("replicateSourceDb"))


def replicas(run: StackRun):
    return [r for r in run.of_type(INSTANCE) if r.inputs.get("replicateSourceDb")]


def test_replica_count_follows_the_stack(each_stack: StackRun):
    expected = {"dev": 0, "staging": 1, "prod": 2}[each_stack.stack]
    assert len(replicas(each_stack)) == expected
    assert len(each_stack.outputs["databaseReaderEndpoints"]) == expected


def test_replicas_replicate_from_primary(each_stack: StackRun):
    source = primary(each_stack)
    for replica in replicas(each_stack):
        assert replica["replicateSourceDb"] == source["identifier"], replica.name
        assert replica["engineVersion"] == source["engineVersion"], replica.name
        assert replica["kmsKeyId"] == source["kmsKeyId"] and replica["storageEncrypted"], replica.name
        for key in ("username", "password", "manageMasterUserPassword"):
            assert key not in replica.inputs, f"{replica.name} sets {key}: replicas inherit credentials"


def test_replicas_spread_across_azs(run_of):
    run = run_of("prod")
    zones = [r["availabilityZone"] for r in replicas(run)]
    assert len(zones) == 2 and len(set(zones)) == 2, f"prod replicas share an AZ: {zones}"
    assert set(zones) <= set(run.outputs["availabilityZones"])


def test_database_not_publicly_accessible(each_stack: StackRun):
    for db in each_stack.of_type(INSTANCE):
        assert db["publiclyAccessible"] is False, f"{db.name} is publicly accessible"


def test_database_in_isolated_subnets(each_stack: StackRun):
    group = each_stack.one("aws:rds/subnetGroup:SubnetGroup")
    assert sorted(group["subnetIds"]) == sorted(each_stack.outputs["isolatedSubnetIds"])
    assert primary(each_stack)["dbSubnetGroupName"] == group["name"]


def test_database_encrypted_with_customer_key(each_stack: StackRun):
    key_arns = {k["arn"]: k for k in each_stack.of_type("aws:kms/key:Key")}
    for db in each_stack.of_type(INSTANCE):
        assert db["storageEncrypted"] is True, db.name
        key = key_arns.get(db["kmsKeyId"])
        assert key is not None, f"{db.name} is not encrypted with a key of this stack"
        assert key["enableKeyRotation"] is True, f"{db.name}'s key does not rotate"
        assert db["performanceInsightsEnabled"] and db["performanceInsightsKmsKeyId"] == db["kmsKeyId"], db.name


def test_database_hardening(each_stack: StackRun):
    db = primary(each_stack)
    assert db["iamDatabaseAuthenticationEnabled"] is True
    assert db["storageType"] == "gp3" and db["maxAllocatedStorage"] >= db["allocatedStorage"]
    assert sorted(db["enabledCloudwatchLogsExports"]) == ["postgresql", "upgrade"]
    assert db["copyTagsToSnapshot"] is True and db["autoMinorVersionUpgrade"] is True
    assert db["backupRetentionPeriod"] >= 1
    role = each_stack.by_id("aws:iam/role:Role", db["monitoringRoleArn"].rsplit("/", 1)[-1])
    assert "monitoring.rds.amazonaws.com" in role["assumeRolePolicy"]
    attached = [a["policyArn"] for a in each_stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert any(a.endswith("service-role/AmazonRDSEnhancedMonitoringRole") for a in attached)


def test_parameter_group_forces_tls_and_logs_slow_queries(each_stack: StackRun):
    group = each_stack.one("aws:rds/parameterGroup:ParameterGroup")
    params = {p["name"]: p["value"] for p in group["parameters"]}
    assert params["rds.force_ssl"] == "1"
    assert int(params["log_min_duration_statement"]) > 0
    assert primary(each_stack)["parameterGroupName"] == group["name"]


def test_prod_is_multi_az_kept_and_snapshotted(run_of):
    db = primary(run_of("prod"))
    assert db["multiAz"] is True and db["deletionProtection"] is True
    assert db["skipFinalSnapshot"] is False and db["finalSnapshotIdentifier"]
    assert db["backupRetentionPeriod"] >= 7


def test_no_plaintext_password_in_inputs_or_outputs(each_stack: StackRun):
    def scan(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                if PASSWORD_KEY.search(k):
                    values = v if isinstance(v, list) else [v]
                    strings = [x for x in values if isinstance(x, str) and x]
                    leaked = [x for x in strings if x not in each_stack.secrets]
                    assert not leaked, f"{path}.{k} holds a literal, non-secret value"
                scan(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                scan(v, f"{path}[{i}]")

    for r in each_stack.resources:
        scan(r.inputs, f"{r.name}.inputs")
        scan(r.outputs, f"{r.name}.outputs")
    exported = repr(each_stack.outputs)
    assert not any(s in exported for s in each_stack.secrets if len(s) >= 8), "a secret is exported"


def test_master_password_is_kept_in_a_kms_encrypted_secret(each_stack: StackRun):
    instance = primary(each_stack)
    if instance.inputs.get("manageMasterUserPassword"):
        assert instance["masterUserSecrets"][0]["secretArn"].startswith("arn:aws:secretsmanager:")
        assert instance["masterUserSecretKmsKeyId"] == instance["kmsKeyId"]
    else:
        secret = each_stack.one("aws:secretsmanager/secret:Secret")
        assert secret["kmsKeyId"] == instance["kmsKeyId"]
        assert instance["password"] in each_stack.secrets


def test_database_admits_only_the_eks_nodes(each_stack: StackRun):
    group = each_stack.by_id(SECURITY_GROUP, primary(each_stack)["vpcSecurityGroupIds"][0])
    rules = ingress_of(each_stack, group)
    assert [r["referencedSecurityGroupId"] for r in rules] == [each_stack.outputs["nodeSecurityGroupId"]]


def test_security_groups_admit_only_given_groups():
    run = run_stack("dev", program=PROGRAMS / "data_tier_clients.py")
    clients = sorted(run.outputs["clientGroupIds"])
    for type_, port in (("PostgresDatabase", 5432), ("RedisCache", 6379), ("KafkaCluster", 9098)):
        group = next(g for g in run.children(component(run, type_), SECURITY_GROUP))
        rules = ingress_of(run, group)
        assert sorted(r["referencedSecurityGroupId"] for r in rules) == clients, type_
        for rule in rules:
            assert (rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == (port, port, "tcp"), rule.name
            assert not rule.inputs.get("cidrIpv4") and not rule.inputs.get("cidrIpv6"), rule.name
    assert run.of_type(INGRESS)


def test_prod_stateful_resources_are_protected(run_of):
    run = run_of("prod")
    stateful = [
        *run.of_type(INSTANCE),
        *run.of_type("aws:elasticache/replicationGroup:ReplicationGroup"),
        *run.of_type("aws:msk/cluster:Cluster"),
    ]
    for name in ("PostgresDatabase", "RedisCache", "KafkaCluster"):
        stateful += run.children(component(run, name), "aws:kms/key:Key")
    assert len(stateful) == 3 + 1 + 1 + 3
    assert all(r.protect for r in stateful), [r.name for r in stateful if not r.protect]


def test_dev_stateful_resources_are_not_protected(run_of):
    run = run_of("dev")
    assert not any(r.protect for r in run.of_type(INSTANCE))


@pytest.mark.parametrize(
    ("values", "key", "fragment"),
    [
        ({"replicaCount": 6}, "webscale:database.replicaCount", "less than or equal to 5"),
        ({"instanceClass": "large"}, "webscale:database.instanceClass", "db.<family>.<size>"),
        (
            {"backupRetentionDays": 0, "deletionProtection": False},
            "webscale:database.backupRetentionDays",
            "at least 1",
        ),
        ({"engineVersion": "12.4"}, "webscale:database.engineVersion", "14, 15, 16, 17"),
        ({"maxAllocatedStorageGb": 10}, "webscale:database", "maxAllocatedStorageGb"),
        ({"deletionProtection": True, "backupRetentionDays": 3}, "webscale:database", "backupRetentionDays (3)"),
        ({"monitoringIntervalSeconds": 0}, "webscale:database.monitoringIntervalSeconds", "1, 5, 10, 15, 30, 60"),
    ],
)
def test_bad_database_value_is_rejected(values, key, fragment):
    problems = problems_with("database", **values)
    assert any(p.startswith(key) and fragment in p for p in problems), problems


def test_managed_password_with_replicas_is_rejected():
    problems = problems_with("database", manageMasterUserPassword=True, replicaCount=1)
    assert any("manageMasterUserPassword" in p and "replicaCount" in p for p in problems), problems


def test_engine_rejects_a_replica_of_a_managed_password_source():
    """Were validation bypassed, the offline engine still applies AWS's rule (moto does not)."""
    import boto3
    from moto import mock_aws

    from infra.offline.registry import Ctx
    from infra.offline.translators.aws_rds import instance

    def ctx(name: str, **inputs) -> Ctx:
        return Ctx(
            "aws:rds/instance:Instance", name, f"urn:{name}", inputs, "eu-west-1", {}, lambda t, i: None, lambda t: []
        )

    with mock_aws():
        key = boto3.client("kms", region_name="eu-west-1").create_key()["KeyMetadata"]["Arn"]
        source = ctx(
            "primary",
            identifier="db",
            engine="postgres",
            instanceClass="db.t4g.micro",
            allocatedStorage=20,
            username="dbadmin",
            manageMasterUserPassword=True,
            masterUserSecretKmsKeyId=key,
        )
        instance(source)
        with pytest.raises(ValueError, match="ManageMasterUserPassword is enabled is not supported"):
            instance(ctx("replica", identifier="db-r1", replicateSourceDb="db", instanceClass="db.t4g.micro"))
