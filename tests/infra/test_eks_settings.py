"""webscale:eks validation: each bad value is rejected with a message naming its key."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from infra.components.eks.args import SUPPORTED_VERSIONS, EksArgs, instance_platform, support_ended
from infra.settings import SettingsError, load_settings

BASE: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "webscale:owner": "platform-team",
    "webscale:costCenter": "cc-1",
}


def problems(eks: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings({**BASE, "webscale:eks": eks}, project="webscale", stack="test")
    return "\n".join(caught.value.problems)


def test_defaults_are_valid_and_private():
    settings = load_settings(BASE, project="webscale", stack="test")
    assert settings.eks.kubernetes_version in SUPPORTED_VERSIONS
    assert settings.eks.endpoint_public_access is False


def test_unsupported_kubernetes_version_is_rejected_naming_the_key():
    message = problems({"kubernetesVersion": "1.29"})
    assert 'webscale:eks.kubernetesVersion = "1.29"' in message and "standard support" in message


def test_min_above_desired_is_rejected_naming_the_sizes():
    message = problems({"nodes": {"minSize": 3, "desiredSize": 2, "maxSize": 5}})
    assert "webscale:eks.nodes" in message and "minSize (3) <= desiredSize (2)" in message


def test_max_size_above_the_cap_is_rejected():
    assert "webscale:eks.nodes.maxSize = 1000" in problems({"nodes": {"maxSize": 1000}})


def test_max_size_zero_is_rejected():
    assert "webscale:eks.nodes.maxSize = 0" in problems({"nodes": {"minSize": 0, "desiredSize": 0, "maxSize": 0}})


def test_public_endpoint_without_cidrs_is_rejected():
    assert "endpointPublicAccess needs publicAccessCidrs" in problems({"endpointPublicAccess": True})


def test_public_endpoint_open_to_the_internet_is_rejected():
    message = problems({"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]})
    assert "webscale:eks.publicAccessCidrs" in message and "whole internet" in message


def test_admin_principal_must_be_a_role_arn():
    message = problems({"adminRoleArns": ["arn:aws:iam::123456789012:user/alice"]})
    assert "webscale:eks.adminRoleArns" in message and "IAM role ARNs" in message


def test_addon_version_format_is_enforced():
    versions = {"vpc-cni": "1.20.4", "coredns": "v1.12.4-eksbuild.1", "kube-proxy": "v1.35.0-eksbuild.2"}
    message = problems({"addonVersions": versions})
    assert "webscale:eks.addonVersions" in message and "v1.2.3-eksbuild.4" in message


def test_kube_proxy_must_match_the_cluster_minor():
    versions = {"vpc-cni": "v1.20.4-eksbuild.2", "coredns": "v1.12.4-eksbuild.1", "kube-proxy": "v1.34.1-eksbuild.1"}
    assert "addonVersions.kube-proxy (v1.34.1-eksbuild.1) must match kubernetesVersion 1.35" in problems(
        {"addonVersions": versions}
    )


def test_audit_logs_cannot_be_turned_off():
    message = problems({"logTypes": ["api", "authenticator"]})
    assert "webscale:eks.logTypes" in message and "missing audit" in message


def test_log_retention_must_be_a_cloudwatch_period():
    assert "webscale:eks.logRetentionDays = 10" in problems({"logRetentionDays": 10})


def test_chart_versions_must_be_exact():
    assert "webscale:eks.charts.keda" in problems({"charts": {"keda": "^2.18"}})


def test_supported_version_table_has_end_dates():
    assert all(len(date) == 10 for date in SUPPORTED_VERSIONS.values())
    assert EksArgs().kubernetes_version in SUPPORTED_VERSIONS


def test_public_network_for_the_private_endpoint_is_rejected_naming_the_key():
    message = problems({"apiAccessCidrs": ["8.8.8.0/24"]})
    assert 'webscale:eks.apiAccessCidrs = ["8.8.8.0/24"]' in message and "not private" in message


@pytest.mark.parametrize(
    ("version", "today", "ended"),
    [
        ("1.35", date(2027, 3, 26), False),
        ("1.35", date(2027, 3, 27), True),
        ("1.34", date(2026, 12, 1), False),
        ("1.34", date(2026, 12, 2), True),
    ],
)
def test_a_version_past_its_standard_support_is_refused(version: str, today: date, ended: bool):
    assert (support_ended(version, today) is not None) is ended


def test_a_pin_that_aws_has_upgraded_past_names_the_key_and_the_next_minor():
    eks = {
        "kubernetesVersion": "1.34",
        "addonVersions": {**EksArgs().addon_versions, "kube-proxy": "v1.34.1-eksbuild.1"},
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {**BASE, "webscale:eks": {**eks, "autoscalerImageTag": "v1.34.0"}},
            project="webscale",
            stack="test",
            today=date(2026, 12, 2),
        )
    message = "\n".join(caught.value.problems)
    assert "webscale:eks.kubernetesVersion (1.34) left EKS standard support on 2026-12-02" in message
    assert "set 1.35" in message


@pytest.mark.parametrize(
    ("instance_type", "platform"),
    [
        ("t4g.medium", "linux/arm64"),
        ("m7g.large", "linux/arm64"),
        ("c7gn.xlarge", "linux/arm64"),
        ("a1.large", "linux/arm64"),
        ("m7i.large", "linux/amd64"),
        ("m6a.large", "linux/amd64"),
        ("g5.xlarge", "linux/amd64"),
        ("g5g.xlarge", "linux/arm64"),
    ],
)
def test_instance_types_map_to_their_cpu_architecture(instance_type: str, platform: str):
    assert instance_platform(instance_type) == platform


def test_graviton_instances_with_an_x86_ami_are_refused():
    message = problems({"nodes": {"instanceTypes": ["t4g.medium"], "amiType": "AL2023_x86_64_STANDARD"}})
    assert "webscale:eks.nodes" in message and "instanceTypes ['t4g.medium'] are linux/arm64" in message


def test_nodes_whose_architecture_the_image_lacks_are_refused_naming_both_keys():
    config = {
        **BASE,
        "webscale:eks": {"nodes": {"instanceTypes": ["t4g.medium"], "amiType": "AL2023_ARM_64_STANDARD"}},
        "webscale:app": {"image": "0.1.0", "imagePlatforms": ["linux/amd64"]},
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(config, project="webscale", stack="test")
    message = "\n".join(caught.value.problems)
    assert "webscale:eks.nodes.amiType (AL2023_ARM_64_STANDARD) runs linux/arm64" in message
    assert "not in webscale:app.imagePlatforms (linux/amd64)" in message


def test_the_default_image_platforms_cover_graviton_and_x86_nodes():
    for ami in ("AL2023_ARM_64_STANDARD", "AL2023_x86_64_STANDARD"):
        instance = "t4g.medium" if "ARM" in ami else "m7i.large"
        config = {
            **BASE,
            "webscale:eks": {"nodes": {"instanceTypes": [instance], "amiType": ami}},
            "webscale:app": {"image": "0.1.0"},
        }
        assert load_settings(config, project="webscale", stack="test").app is not None
