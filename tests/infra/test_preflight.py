"""The preflight of a real deploy: every placeholder and access problem, named by key, before Pulumi."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.components.eks.args import EksArgs
from infra.offline.engine import ROOT, load_stack_config, run_stack
from infra.preflight import Caller, access_problems, documentation_value, preflight

ACCOUNT = "210987654321"
ROLE = "deployer"


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::123456789012:role/platform-admin",
        "111122223333",
        "203.0.113.0/24",
        "198.51.100.7",
        "192.0.2.0/28",
        "2001:db8:1::/48",
        "Z0123456789EXAMPLE00",
        "shop.example.com",
        "example.org",
        "api.corp.test",
        "oncall@example.com",
        "https://hooks.example.com/services/webscale-prod",
    ],
)
def test_documentation_only_values_are_recognised(value: str):
    assert documentation_value(value) is not None


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::210987654321:role/platform-admin",
        "10.30.0.0/16",
        "100.20.30.40/32",
        "eu-west-1",
        "sha256:3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a2b4d6f8e0a1c3e5b7d9f2a4c6e8b0d1f3a",
        "cc-1001-prod",
        "shop.acme-corp.io",
        "0.1.0",
        "oncall@acme-corp.io",
        "https://hooks.acme-corp.io/services/webscale-prod",
    ],
)
def test_real_looking_values_pass(value: str):
    assert documentation_value(value) is None


def _clear_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def as_deployer_role(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Credentials of an assumed role in account 210987654321, answered by moto's STS."""
    _clear_credentials(monkeypatch, tmp_path)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        creds = boto3.client("sts", region_name="eu-west-1").assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{ROLE}", RoleSessionName="make-up"
        )["Credentials"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
        yield


def _prod(**eks: Any) -> dict[str, Any]:
    config = load_stack_config("prod")
    config["webscale:eks"] = {**config["webscale:eks"], **eks}
    return config


def test_prod_as_committed_lists_every_placeholder_and_access_problem(as_deployer_role: None):
    problems = "\n".join(preflight(load_stack_config("prod"), project="webscale", stack="prod"))
    expected = [
        "webscale:eks.adminRoleArns[0] = 'arn:aws:iam::123456789012:role/platform-admin': account 123456789012 is",
        "webscale:edge.domainName = 'shop.example.com': is an example domain",
        "webscale:edge.hostedZoneId = 'Z0123456789EXAMPLE00': contains EXAMPLE",
        "webscale:observability.emailSubscribers[0] = 'oncall@example.com': is an example domain",
        "webscale:observability.webhookUrl = 'https://hooks.example.com/services/webscale-prod': is an example domain",
        "webscale:eks.apiAccessCidrs: unset, so the private-only API endpoint",
        "in account 123456789012, not the caller's (210987654321)",
        "webscale:eks.deployerRoleArn: the caller's role 'deployer'",
    ]
    for line in expected:
        assert line in problems, f"missing: {line}\n{problems}"


def test_prod_with_real_values_passes(as_deployer_role: None):
    config = _prod(
        adminRoleArns=[f"arn:aws:iam::{ACCOUNT}:role/platform-admin"],
        deployerRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ci/{ROLE}",
        apiAccessCidrs=["10.200.0.0/16"],
    )
    config["webscale:edge"] = {**config["webscale:edge"], "domainName": "shop.acme-corp.io", "hostedZoneId": "Z04ABCD"}
    config["webscale:observability"] = {
        "emailSubscribers": ["oncall@acme-corp.io"],
        "webhookUrl": "https://hooks.acme-corp.io/services/webscale-prod",
    }
    assert preflight(config, project="webscale", stack="prod") == []


def test_dev_documentation_range_on_the_public_endpoint_is_refused(as_deployer_role: None):
    problems = "\n".join(preflight(load_stack_config("dev"), project="webscale", stack="dev"))
    assert "webscale:eks.publicAccessCidrs[0] = '203.0.113.0/24': is in 203.0.113.0/24" in problems
    assert "apiAccessCidrs" not in problems  # the public endpoint is how dev is reached


def test_without_credentials_the_caller_is_a_problem_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    _clear_credentials(monkeypatch, tmp_path)
    problems = preflight(load_stack_config("prod"), project="webscale", stack="prod")
    assert any(p.startswith("AWS credentials: no AWS credentials found") for p in problems)
    assert any(p.startswith("webscale:eks.adminRoleArns[0]") for p in problems)


def test_an_iam_user_caller_is_told_to_deploy_as_a_role():
    caller = Caller(account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/alice")
    problems = access_problems("webscale", {"adminRoleArns": [f"arn:aws:iam::{ACCOUNT}:role/admin"]}, caller)
    assert problems == [
        f"AWS credentials: the caller arn:aws:iam::{ACCOUNT}:user/alice is not an assumed IAM role; deploy as a "
        "role and name it in webscale:eks.deployerRoleArn (the cluster's access entries here are for roles)"
    ]


def test_make_up_for_aws_stops_in_the_preflight_before_calling_pulumi(tmp_path: Path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    marker = tmp_path / "pulumi-was-called"
    (fake_bin / "pulumi").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (fake_bin / "pulumi").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PATH=f"{fake_bin}:{env['PATH']}",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    # -o: the shared virtualenv is taken as built; this test must not reinstall it.
    done = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "up", "STACK=prod", "TARGET=aws"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "preflight: stack 'prod' is not ready for a real deploy" in done.stderr
    for key in ("webscale:eks.adminRoleArns[0]", "webscale:edge.hostedZoneId", "webscale:eks.apiAccessCidrs"):
        assert key in done.stderr
    assert "AWS credentials: no AWS credentials found" in done.stderr
    assert not marker.exists(), "pulumi ran although the preflight failed"


def test_the_deployer_role_gets_a_cluster_admin_access_entry():
    deployer = f"arn:aws:iam::{ACCOUNT}:role/ci/{ROLE}"
    dev = load_stack_config("dev")
    run = run_stack("dev", {"webscale:eks": {**dev["webscale:eks"], "deployerRoleArn": deployer}})
    entry = run.one("aws:eks/accessEntry:AccessEntry", "eks-deployer")
    association = run.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "eks-deployer")
    assert entry["principalArn"] == association["principalArn"] == deployer
    assert association["policyArn"].endswith(":cluster-access-policy/AmazonEKSClusterAdminPolicy")
    provider = next(r for r in run.resources if r.type == "pulumi:providers:kubernetes")
    assert association.urn in provider.dependencies, "Kubernetes objects must wait for the deployer's access"


def test_a_deployer_who_is_already_an_admin_gets_no_second_entry():
    arn = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
    assert EksArgs(admin_role_arns=[arn], deployer_role_arn=arn).cluster_admins == {"admin-0": arn}
    assert EksArgs(deployer_role_arn=arn).cluster_admins == {"deployer": arn}
