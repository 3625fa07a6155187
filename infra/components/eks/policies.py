"""IAM documents of the cluster, as small pure functions."""

from __future__ import annotations

from typing import Any

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


LB_CONTROLLER_READ_ACTIONS = (
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVpcs",
    "ec2:GetSecurityGroupsForVpc",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
)
"""What the controller reads while reconciling a TargetGroupBinding (Describe* calls take no
resource-level scoping in IAM, hence ``*``)."""


def load_balancer_controller_policy(partition: str, region: str, account_id: str, name_prefix: str) -> dict[str, Any]:
    """Least privilege for the AWS Load Balancer Controller as this stack uses it.

    Pulumi owns the ALB and its target group; the controller only registers pod IPs through a
    TargetGroupBinding. So, unlike the controller's install-time policy (which may create and
    delete any load balancer, security group rule, WAF and Shield association), it may only read,
    and register or deregister targets in this stack's own target groups (``<name_prefix>-*``).
    An Ingress or a ``type: LoadBalancer`` Service therefore fails with AccessDenied: by design.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": list(LB_CONTROLLER_READ_ACTIONS), "Resource": "*"},
            {
                "Sid": "RegisterPodsInOwnTargetGroups",
                "Effect": "Allow",
                "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                "Resource": f"arn:{partition}:elasticloadbalancing:{region}:{account_id}:targetgroup/{name_prefix}-*/*",
            },
        ],
    }
