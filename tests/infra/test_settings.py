"""Stack settings: every rule rejects a bad value with a message naming the key and the value."""

from __future__ import annotations

from typing import Any

import pytest

from infra.offline.engine import load_stack_config, run_stack
from infra.settings import SettingsError, load_settings

VALID: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "webscale:owner": "platform-team",
    "webscale:costCenter": "cc-1",
    "webscale:network": {"cidr": "10.0.0.0/16", "azCount": 3},
}


def problems(**overrides: Any) -> list[str]:
    config = {**VALID, **overrides}
    with pytest.raises(SettingsError) as caught:
        load_settings({k: v for k, v in config.items() if v is not None}, project="webscale", stack="test")
    return caught.value.problems


def network(**keys: Any) -> dict[str, Any]:
    return {"webscale:network": {**VALID["webscale:network"], **keys}}


def test_valid_configuration_loads():
    settings = load_settings(VALID, project="webscale", stack="test")
    assert settings.network.az_count == 3
    assert settings.region == "eu-west-1"


def test_defaults_apply_when_a_section_is_absent():
    config = {k: v for k, v in VALID.items() if k != "webscale:network"}
    settings = load_settings(config, project="webscale", stack="test")
    assert settings.network.nat_gateways == "one-per-az"
    assert settings.network.flow_logs is True


def test_every_stack_file_is_valid():
    for stack in ("dev", "staging", "prod"):
        load_settings(load_stack_config(stack), project="webscale", stack=stack)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (network(cidr="10.0.0.0/33"), 'webscale:network.cidr = "10.0.0.0/33": is not an IPv4 network'),
        (network(cidr="10.0.0.1/16"), 'webscale:network.cidr = "10.0.0.1/16": is not an IPv4 network'),
        (network(cidr="8.8.0.0/16"), 'webscale:network.cidr = "8.8.0.0/16": must be a private'),
        (network(azCount=4), "webscale:network.azCount = 4: Input should be less than or equal to 3"),
        (network(azCount=1), "webscale:network.azCount = 1: Input should be greater than or equal to 2"),
        (network(azCount=-2), "webscale:network.azCount = -2: Input should be greater than or equal to 2"),
        (network(cidr="10.0.0.0/26"), "webscale:network: 10.0.0.0/26 is too small for 3 AZs in three tiers: use /23"),
        (
            network(natGateways="two"),
            "webscale:network.natGateways = \"two\": Input should be 'single' or 'one-per-az'",
        ),
        (network(flowLogRetentionDays=10), "webscale:network.flowLogRetentionDays = 10: must be one of the periods"),
        (network(azCuont=2), "webscale:network.azCuont: unknown key (did you mean azCount?)"),
        ({"webscale:netwrok": {}}, "webscale:netwrok: unknown key (did you mean network?)"),
        ({"aws:region": "eu-wset-1"}, 'aws:region = "eu-wset-1": is not an AWS region (did you mean eu-west-1?)'),
        ({"aws:region": None}, "aws:region = null: Input should be a valid string"),
        ({"webscale:owner": None}, "webscale:owner: is required"),
        ({"webscale:costCenter": ""}, 'webscale:costCenter = "": String should have at least 1 character'),
    ],
)
def test_bad_value_is_reported_with_its_key(overrides: dict[str, Any], expected: str):
    reported = problems(**overrides)
    assert any(p.startswith(expected) for p in reported), reported


def test_every_problem_is_reported_at_once():
    reported = problems(**network(azCount=9, natGateways="two"), **{"aws:region": "mars-1"})
    assert len(reported) == 3, reported


def test_structured_values_may_arrive_as_json_strings_like_the_cli_sends_them():
    config = {**VALID, "webscale:network": '{"cidr": "10.5.0.0/16", "azCount": 2}'}
    assert load_settings(config, project="webscale", stack="test").network.cidr == "10.5.0.0/16"


def test_invalid_configuration_fails_the_run_before_any_resource_exists():
    with pytest.raises(SettingsError, match=r"webscale:network\.azCount = 7"):
        run_stack("dev", config_overrides=network(azCount=7))
