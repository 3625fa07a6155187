"""EKS control-plane rules: endpoint exposure, supported version, secrets encryption, audit logs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from infra.policies.rules._rule import Control, Problems, get, items, resource_rule

CLUSTER = "aws:eks/cluster:Cluster"

# The one place that lists the Kubernetes versions EKS supports: minor version -> the last day of
# extended support (standard support is 14 months, extended 12 more; a cluster past this date is
# force-upgraded by AWS). Source: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html
# (calendar as published in Jan 2026). Add each new minor version here when EKS releases it.
EKS_VERSION_SUPPORT_ENDS: dict[str, dt.date] = {
    "1.30": dt.date(2026, 7, 23),
    "1.31": dt.date(2026, 11, 26),
    "1.32": dt.date(2027, 3, 23),
    "1.33": dt.date(2027, 7, 29),
    "1.34": dt.date(2027, 12, 2),
    "1.35": dt.date(2028, 3, 27),
}

AUDIT_LOG_TYPES = ("api", "audit", "authenticator")
"""EKS.8 asks for ``audit``; ``api`` and ``authenticator`` are what an investigation needs next to it."""


def supported_versions(today: dt.date | None = None) -> list[str]:
    today = today or dt.date.today()
    return [v for v, end in EKS_VERSION_SUPPORT_ENDS.items() if end >= today]


def endpoint_exposure_problems(props: Mapping[str, Any]) -> Problems:
    """EKS.1: the public endpoint is off, or on but limited to listed CIDRs (never 0.0.0.0/0)."""
    if not get(props, "vpcConfig", "endpointPublicAccess", default=True):  # provider default: true
        return []
    cidrs = list(get(props, "vpcConfig", "publicAccessCidrs", default=None) or ["0.0.0.0/0"])  # EKS default
    open_to_all = [c for c in cidrs if c in ("0.0.0.0/0", "::/0")]
    if open_to_all:
        return [f"the public API endpoint is open to {', '.join(open_to_all)}"]
    return []


def version_problems(props: Mapping[str, Any], today: dt.date | None = None) -> Problems:
    """EKS.2: the version is one EKS still supports (standard or extended support) today."""
    version = get(props, "version")
    if version is None:
        return []  # EKS picks its current default version, which is supported by definition
    version = ".".join(str(version).split(".")[:2])
    if version not in EKS_VERSION_SUPPORT_ENDS:
        return [f"Kubernetes {version} is not in EKS_VERSION_SUPPORT_ENDS (unknown or long unsupported)"]
    if version not in supported_versions(today):
        return [f"Kubernetes {version} left EKS extended support on {EKS_VERSION_SUPPORT_ENDS[version]}"]
    return []


def secrets_encryption_problems(props: Mapping[str, Any]) -> Problems:
    """EKS.3: Kubernetes secrets are envelope-encrypted with a KMS key."""
    for config in items(get(props, "encryptionConfig")):
        if "secrets" in list(get(config, "resources", default=[])) and get(config, "provider", "keyArn"):
            return []
    return ["Kubernetes secrets are not envelope-encrypted with a KMS key"]


def audit_logging_problems(props: Mapping[str, Any]) -> Problems:
    """EKS.8: control-plane audit logs (and the api/authenticator logs) go to CloudWatch."""
    enabled = set(get(props, "enabledClusterLogTypes", default=[]))
    missing = [t for t in AUDIT_LOG_TYPES if t not in enabled]
    return [f"control-plane log types {missing} are not enabled"] if missing else []


POLICIES = [
    resource_rule(
        "eks-1-endpoint-not-public",
        Control("EKS.1", "EKS cluster endpoints should not be publicly accessible"),
        [CLUSTER],
        endpoint_exposure_problems,
        "set vpc_config.endpoint_public_access=False (and endpoint_private_access=True) on the aws.eks.Cluster, "
        "or restrict vpc_config.public_access_cidrs to the operators' CIDRs",
        why="A public endpoint restricted to listed CIDRs is accepted; 0.0.0.0/0 (the EKS default) is not.",
    ),
    resource_rule(
        "eks-2-supported-kubernetes-version",
        Control("EKS.2", "EKS clusters should run on a supported Kubernetes version"),
        [CLUSTER],
        version_problems,
        "set version on the aws.eks.Cluster to a minor version listed in "
        "infra/policies/rules/eks.py EKS_VERSION_SUPPORT_ENDS whose support has not ended",
        why="Supported versions and their end of (extended) support live in EKS_VERSION_SUPPORT_ENDS.",
    ),
    resource_rule(
        "eks-3-secrets-encrypted",
        Control("EKS.3", "EKS clusters should use encrypted Kubernetes secrets"),
        [CLUSTER],
        secrets_encryption_problems,
        'set encryption_config={"resources": ["secrets"], "provider": {"key_arn": key.arn}} on the aws.eks.Cluster',
    ),
    resource_rule(
        "eks-8-audit-logging-enabled",
        Control("EKS.8", "EKS clusters should have audit logging enabled"),
        [CLUSTER],
        audit_logging_problems,
        'set enabled_cluster_log_types=["api", "audit", "authenticator"] on the aws.eks.Cluster',
        why="The api and authenticator logs are required too: audit alone does not show who authenticated.",
    ),
]
