"""The pack as a whole: unique names, control IDs, and every stack passing every mandatory rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel

from infra.offline.model import StackRun
from infra.policies import offline
from infra.policies.pack import DEFAULT_ENFORCEMENT, PACK_NAME, POLICIES, enforcement_of

CONTROL_ID = re.compile(r"^[A-Za-z0-9]+\.\d+$")


def test_policy_names_are_unique():
    names = [p.name for p in POLICIES]
    assert len(names) > 40 and len(set(names)) == len(names)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_policy_names_its_control(policy):
    control = policy.framework.reference
    assert CONTROL_ID.match(control), control
    assert policy.name.startswith(control.lower().replace(".", "-") + "-"), (policy.name, control)
    assert f"{control}:" in policy.description and policy.remediation_steps


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_policy_declares_its_enforcement_level(policy):
    assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
    if policy.enforcement_level == EnforcementLevel.ADVISORY:
        assert "Advisory" in policy.description, f"{policy.name} should say why it is only advisory"


def test_every_stack_passes_every_mandatory_rule(each_stack: StackRun):
    found = offline.evaluate(each_stack)
    mandatory = [f"{v.policy}: {v.message}" for v in found if v.level == EnforcementLevel.MANDATORY]
    assert mandatory == [], "\n".join(mandatory)


def test_offline_runner_reports_by_level_and_fails_on_mandatory():
    v = [
        offline.Violation("rds-2-no-public-access", EnforcementLevel.MANDATORY, "db [RDS.2] public", "urn:db"),
        offline.Violation("rds-5-multi-az", EnforcementLevel.ADVISORY, "db [RDS.5] single-AZ", "urn:db"),
    ]
    text = offline.render("dev", v, 2)
    assert "mandatory (1)\n  rds-2-no-public-access: db [RDS.2] public" in text
    assert "advisory (1)\n  rds-5-multi-az: db [RDS.5] single-AZ" in text


def test_offline_runner_hands_policies_the_engine_shaped_args(run_of):
    run = run_of("dev")
    subnet = run.of_type("aws:ec2/subnet:Subnet")[0]
    args = offline.resource_args(run, subnet)
    assert args.resource_type == subnet.type and args.urn == subnet.urn and args.name == subnet.name
    assert dict(args.props["tags"]) == subnet.inputs["tags"]  # inputs, camelCase, behind the CLI's proxy
    assert args.provider is not None and args.provider.resource_type == "pulumi:providers:aws"
    assert all(enforcement_of(p) for p in POLICIES)


def test_readme_lists_every_policy():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [p.name for p in POLICIES if f"| `{p.name}` |" not in readme]
    assert missing == [], f"README '## Policy pack' misses {missing}"


def test_pack_runs_through_the_analyzer_the_cli_talks_to():
    """The servicer a PolicyPack serves over gRPC, called directly (private API: no server is started)."""
    from google.protobuf import struct_pb2
    from pulumi.runtime import proto
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", POLICIES, DEFAULT_ENFORCEMENT)
    assert [p.name for p in servicer.GetAnalyzerInfo(None, None).policies] == [p.name for p in POLICIES]
    props = struct_pb2.Struct()
    props.update({"engine": "postgres", "publiclyAccessible": True, "backupRetentionPeriod": 7})
    urn = "urn:pulumi:dev::webscale::aws:rds/instance:Instance::db"
    request = proto.AnalyzeRequest(type="aws:rds/instance:Instance", properties=props, urn=urn, name="db")
    diagnostics = {d.policyName: d for d in servicer.Analyze(request, None).diagnostics}
    assert "rds-2-no-public-access" in diagnostics and "rds-11-automatic-backups" not in diagnostics
    public = diagnostics["rds-2-no-public-access"]
    assert public.enforcementLevel == proto.MANDATORY  # the engine attaches the urn itself
    assert "[RDS.2] the instance is publicly accessible" in public.message
