"""``webscale:eks``: the cluster's configuration, validated before anything is created."""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from infra.args import ConfigModel, check_log_retention

SUPPORTED_VERSIONS: dict[str, str] = {
    "1.34": "2026-12-02",
    "1.35": "2027-03-27",
}
"""Kubernetes minor versions in EKS *standard* support, each with its end of standard support.

Checked 2026-11-26 against the EKS version lifecycle (docs.aws.amazon.com/eks/latest/userguide/
kubernetes-versions.html; dates from endoflife.date/amazon-eks). 1.31-1.33 had left standard
support by then (extended support costs extra per cluster hour). 1.36 (upstream 2026-04-22) is
left out until its EKS release date is confirmed. Update this table, and only this table."""


def support_ended(version: str, today: date) -> str | None:
    """Why ``version`` (one of ``SUPPORTED_VERSIONS``) cannot be pinned on ``today``, or None.

    With ``upgradePolicy: STANDARD`` AWS upgrades the control plane to the next minor when
    standard support ends. A stack still pinned to the old minor then asks EKS for a
    downgrade, which it refuses, and every ``up`` fails until the pin moves.
    """
    ends = date.fromisoformat(SUPPORTED_VERSIONS[version])
    if today >= ends:
        newer = [v for v, end in SUPPORTED_VERSIONS.items() if date.fromisoformat(end) > today]
        hint = f"set {newer[0]}" if newer else "add the next minor to SUPPORTED_VERSIONS"
        return (
            f"webscale:eks.kubernetesVersion ({version}) left EKS standard support on {ends}: AWS upgrades such a cluster to the next minor, so this pin "
            f"would ask EKS for a downgrade (which it refuses); {hint}, with addonVersions.kube-proxy and "
            "autoscalerImageTag to match"
        )
    return None


LogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
CONTROL_PLANE_LOG_TYPES: tuple[LogType, ...] = ("api", "audit", "authenticator", "controllerManager", "scheduler")
REQUIRED_LOG_TYPES = ("api", "audit", "authenticator")
"""Who called the API, what they changed, and how they authenticated: the minimum for an audit."""

MAX_NODES = 100
"""Upper bound on a node group's maxSize: a typo (1000) should not be able to buy a fleet."""

ADDON_VERSION = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
REQUIRED_ADDONS = ("vpc-cni", "coredns", "kube-proxy")
CHART_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


AMI_PLATFORMS = {"AL2023_x86_64_STANDARD": "linux/amd64", "AL2023_ARM_64_STANDARD": "linux/arm64"}
"""The container platform each node AMI type runs."""

_GRAVITON = re.compile(r"^(a1|[a-z]+\d+g[a-z]*)$")


def instance_platform(instance_type: str) -> str:
    """``t4g.medium`` -> linux/arm64 (Graviton: a ``g`` after the generation), else linux/amd64."""
    return "linux/arm64" if _GRAVITON.match(instance_type.split(".")[0]) else "linux/amd64"


class NodeGroupArgs(ConfigModel):
    """``webscale:eks.nodes``: the managed node group the workloads run on."""

    instance_types: list[str] = Field(default=["m7i.large"], min_length=1)
    """EC2 instance types, in order of preference. Default ``m7i.large``: 2 vCPU / 8 GiB,
    current-generation general purpose."""
    ami_type: Literal["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD"] = "AL2023_x86_64_STANDARD"
    """Amazon Linux 2023 (AL2 reached end of support). Use the ARM type with Graviton
    (``t4g``, ``m7g``) instance types."""
    min_size: int = Field(default=2, ge=0)
    """Fewest nodes. Default 2: one node lost still leaves capacity for the add-ons."""
    desired_size: int = Field(default=2, ge=0)
    """Nodes at creation; afterwards the cluster autoscaler owns this number (changes ignored)."""
    max_size: int = Field(default=6, ge=1, le=MAX_NODES)
    """Most nodes the autoscaler may add, 1..100. Default 6."""
    disk_size_gib: int = Field(default=50, ge=20, le=1000)
    """Root volume (gp3, KMS-encrypted) per node. Default 50 GiB: images and logs."""
    capacity_type: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    """``ON_DEMAND`` (default) or ``SPOT`` (cheaper, may be reclaimed at two minutes' notice)."""

    @field_validator("instance_types")
    @classmethod
    def _instance_types(cls, types: list[str]) -> list[str]:
        bad = [t for t in types if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", t)]
        if bad:
            raise ValueError(f"are not EC2 instance types (family.size): {bad}")
        return types

    @property
    def platform(self) -> str:
        """The container platform the nodes run (``linux/amd64`` or ``linux/arm64``)."""
        return AMI_PLATFORMS[self.ami_type]

    @model_validator(mode="after")
    def _instances_fit_the_ami(self) -> NodeGroupArgs:
        wrong = [t for t in self.instance_types if instance_platform(t) != self.platform]
        if wrong:
            raise ValueError(
                f"instanceTypes {wrong} are {instance_platform(wrong[0])} but amiType {self.ami_type} is "
                f"{self.platform}: the nodes would never launch; use AL2023_ARM_64_STANDARD with Graviton "
                "types (t4g, m7g...) and AL2023_x86_64_STANDARD with the others"
            )
        return self

    @model_validator(mode="after")
    def _sizes_ordered(self) -> NodeGroupArgs:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"minSize ({self.min_size}) <= desiredSize ({self.desired_size}) <= maxSize ({self.max_size}) must hold"
            )
        return self


class ChartVersions(ConfigModel):
    """``webscale:eks.charts``: Helm chart versions, pinned so that a deploy is repeatable.

    Set them to the versions you have tested; they were not verifiable on the machine this
    stack was written on (no network), so check them against the chart repositories."""

    aws_load_balancer_controller: str = "1.14.0"
    """eks-charts ``aws-load-balancer-controller`` (controller v2.14)."""
    metrics_server: str = "3.13.0"
    """kubernetes-sigs ``metrics-server`` (metrics-server 0.8): CPU/memory metrics for the HPA."""
    keda: str = "2.18.0"
    """kedacore ``keda``: event-driven autoscaling (Kafka consumer lag)."""
    cluster_autoscaler: str = "9.52.1"
    """kubernetes ``cluster-autoscaler`` chart; the image tag is ``autoscalerImageTag``."""

    @field_validator("*")
    @classmethod
    def _semver(cls, version: str) -> str:
        if not CHART_VERSION.fullmatch(version):
            raise ValueError("must be an exact chart version like 1.2.3 (no ranges)")
        return version


class EksArgs(ConfigModel):
    """``webscale:eks``: the EKS cluster, its nodes and its add-ons."""

    kubernetes_version: str = "1.35"
    """Kubernetes minor version; one in EKS standard support (see ``SUPPORTED_VERSIONS``).
    Default 1.35: the newest confirmed, standard support until 2027-03-27."""
    endpoint_public_access: bool = False
    """Whether the API endpoint is reachable from the internet. Default off: the API is
    reached from inside the VPC (private endpoint is always on)."""
    public_access_cidrs: list[str] = Field(default_factory=list)
    """Where the public endpoint admits, when it is on; required then, and never 0.0.0.0/0."""
    api_access_cidrs: list[str] | None = None
    """Private networks (VPN, CI runners, a bastion) admitted to the private API endpoint on
    443. Pulumi deploys the add-ons and the app through the API, so it must run from one of
    them. Default: the VPC's own range (the API still demands IAM auth and an access entry)."""
    admin_role_arns: list[str] = Field(default_factory=list)
    """IAM roles granted cluster admin through access entries. Default none: the creator
    gets no implicit admin, so name the roles that operate the cluster."""
    deployer_role_arn: str | None = None
    """The IAM role ``pulumi up`` runs as (a CI role, or the role an operator assumes). It
    gets a cluster-admin access entry like ``adminRoleArns``: the cluster gives its creator
    no implicit admin, and Pulumi installs the add-ons and the app through the API. Default
    none; the preflight (``make up TARGET=aws``) refuses a caller that is in neither."""
    log_types: list[LogType] = Field(default_factory=lambda: list(CONTROL_PLANE_LOG_TYPES))
    """Control-plane logs sent to CloudWatch; must include api, audit, authenticator. Default all five."""
    log_retention_days: int = 90
    """Days to keep control-plane logs; a period CloudWatch accepts. Default 90."""
    deletion_protection: bool = True
    """Refuse to delete the cluster until this is turned off. Default on."""
    nodes: NodeGroupArgs = NodeGroupArgs()
    addon_versions: dict[str, str] = Field(
        default_factory=lambda: {
            "vpc-cni": "v1.20.4-eksbuild.2",
            "coredns": "v1.12.4-eksbuild.1",
            "kube-proxy": "v1.35.0-eksbuild.2",
        }
    )
    """EKS add-on versions (``vX.Y.Z-eksbuild.N``) for vpc-cni, coredns, kube-proxy. Check
    with ``aws eks describe-addon-versions --kubernetes-version <v>``; kube-proxy's minor must
    match the cluster's."""
    charts: ChartVersions = ChartVersions()
    autoscaler_image_tag: str = "v1.35.0"
    """Cluster Autoscaler image; its minor must match the cluster's (the autoscaler's rule)."""

    @field_validator("kubernetes_version")
    @classmethod
    def _supported(cls, version: str) -> str:
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(f"is not in EKS standard support; use one of {', '.join(SUPPORTED_VERSIONS)}")
        return version

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs(cls, cidrs: list[str]) -> list[str]:
        for cidr in cidrs:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as err:
                raise ValueError(f"{cidr!r} is not a network in CIDR notation ({err})") from None
            if network.prefixlen == 0:
                raise ValueError(f"{cidr} admits the whole internet; name the networks that need the API")
        return cidrs

    @field_validator("api_access_cidrs")
    @classmethod
    def _private_cidrs(cls, cidrs: list[str] | None) -> list[str] | None:
        for cidr in cidrs or []:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as err:
                raise ValueError(f"{cidr!r} is not a network in CIDR notation ({err})") from None
            if not network.is_private:
                raise ValueError(f"{cidr} is not private; the private endpoint is reached from inside the VPC")
        return cidrs

    @field_validator("admin_role_arns")
    @classmethod
    def _role_arns(cls, arns: list[str]) -> list[str]:
        bad = [a for a in arns if not ROLE_ARN.fullmatch(a)]
        if bad:
            raise ValueError(f"are not IAM role ARNs (arn:aws:iam::<12 digits>:role/<name>): {bad}")
        return arns

    @field_validator("deployer_role_arn")
    @classmethod
    def _deployer_arn(cls, arn: str | None) -> str | None:
        if arn is not None and not ROLE_ARN.fullmatch(arn):
            raise ValueError("is not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)")
        return arn

    @property
    def cluster_admins(self) -> dict[str, str]:
        """Access entry name suffix -> role ARN: ``admin-<i>`` per admin role, then ``deployer``
        unless the deployer is already an admin (EKS allows one entry per principal)."""
        admins = {f"admin-{i}": arn for i, arn in enumerate(self.admin_role_arns)}
        if self.deployer_role_arn and self.deployer_role_arn not in self.admin_role_arns:
            admins["deployer"] = self.deployer_role_arn
        return admins

    @field_validator("log_types")
    @classmethod
    def _log_types(cls, types: list[str]) -> list[str]:
        missing = [t for t in REQUIRED_LOG_TYPES if t not in types]
        if missing:
            raise ValueError(f"must include {', '.join(REQUIRED_LOG_TYPES)} (missing {', '.join(missing)})")
        return types

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        return check_log_retention(days)

    @field_validator("addon_versions")
    @classmethod
    def _addon_versions(cls, versions: dict[str, str]) -> dict[str, str]:
        missing = [a for a in REQUIRED_ADDONS if a not in versions]
        if missing:
            raise ValueError(f"must pin {', '.join(missing)}")
        unknown = sorted(set(versions) - set(REQUIRED_ADDONS))
        if unknown:
            raise ValueError(f"unknown add-on(s) {unknown}; this cluster manages {', '.join(REQUIRED_ADDONS)}")
        bad = {k: v for k, v in versions.items() if not ADDON_VERSION.fullmatch(v)}
        if bad:
            raise ValueError(f"versions must look like v1.2.3-eksbuild.4: {bad}")
        return versions

    @model_validator(mode="after")
    def _consistent(self) -> EksArgs:
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise ValueError("endpointPublicAccess needs publicAccessCidrs (the networks allowed to reach the API)")
        minor = f"v{self.kubernetes_version}."
        if not self.addon_versions["kube-proxy"].startswith(minor):
            raise ValueError(
                f"addonVersions.kube-proxy ({self.addon_versions['kube-proxy']}) must match kubernetesVersion "
                f"{self.kubernetes_version}"
            )
        if not self.autoscaler_image_tag.startswith(minor):
            raise ValueError(
                f"autoscalerImageTag ({self.autoscaler_image_tag}) must match kubernetesVersion {self.kubernetes_version}"
            )
        return self
