"""IAM documents of the cluster, as small pure functions (and one vendored JSON file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DOCUMENTS = Path(__file__).parent / "policy_documents"

# AWS managed policies: the documented least privilege for each role.
CLUSTER_POLICY = "AmazonEKSClusterPolicy"
WORKER_NODE_POLICY = "AmazonEKSWorkerNodePolicy"
ECR_PULL_ONLY_POLICY = "AmazonEC2ContainerRegistryPullOnly"
CNI_POLICY = "AmazonEKS_CNI_Policy"
CLUSTER_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"


def managed_policy_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


def access_policy_arn(partition: str, name: str) -> str:
    """EKS access policies live in their own namespace (``arn:aws:eks::aws:cluster-access-policy/``)."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{name}"


def assume_role_by_service(service: str) -> dict[str, Any]:
    """Trust policy letting one AWS service principal (``eks.amazonaws.com``) assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def cluster_encryption_policy(key_arn: str) -> dict[str, Any]:
    """What the cluster role needs to envelope-encrypt Kubernetes secrets with one key."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EnvelopeEncryptSecrets",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": key_arn,
            }
        ],
    }


def cluster_autoscaler_policy(cluster_name: str) -> dict[str, Any]:
    """The Cluster Autoscaler's policy from its AWS guide: it may read every group, but
    resize and terminate only in Auto Scaling groups tagged as owned by this cluster
    (EKS managed node groups carry ``k8s.io/cluster-autoscaler/<cluster>=owned``)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ScaleOwnGroupsOnly",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
            },
            {
                "Sid": "Discover",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                    "eks:DescribeNodegroup",
                ],
                "Resource": "*",
            },
        ],
    }


def load_balancer_controller_policy() -> str:
    """The AWS Load Balancer Controller's official policy, vendored unchanged (minified).

    Source: kubernetes-sigs/aws-load-balancer-controller ``docs/install/iam_policy.json``;
    see ``policy_documents/README.md`` for the revision and when to refresh it.
    """
    document = json.loads((DOCUMENTS / "aws-load-balancer-controller.json").read_text())
    return json.dumps(document, separators=(",", ":"))
