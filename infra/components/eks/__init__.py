"""The EKS cluster the app deploys onto: ``EksCluster`` and its configuration ``EksArgs``."""

from infra.components.eks.args import SUPPORTED_VERSIONS, EksArgs, NodeGroupArgs
from infra.components.eks.cluster import EksCluster
from infra.components.eks.irsa import service_account_role, trust_policy

__all__ = ["SUPPORTED_VERSIONS", "EksArgs", "EksCluster", "NodeGroupArgs", "service_account_role", "trust_policy"]
