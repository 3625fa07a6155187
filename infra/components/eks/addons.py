"""What runs in the cluster besides the app: EKS add-ons and Helm releases.

EKS add-ons (AWS-managed versions): vpc-cni (pod networking, with its own IRSA role),
kube-proxy and coredns. Not installed, on purpose:
- ``aws-ebs-csi-driver``: nothing here uses PersistentVolumes; state lives in RDS,
  ElastiCache and MSK;
- ``eks-pod-identity-agent``: every AWS-calling pod uses IRSA, so the agent would be
  one more DaemonSet doing nothing.

Helm releases, each chart version pinned and each AWS-calling one with its own IRSA role:
AWS Load Balancer Controller, Cluster Autoscaler, KEDA; metrics-server calls no AWS API
and gets no role.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.components.eks.args import EksArgs
from infra.components.eks.policies import (
    CNI_POLICY,
    cluster_autoscaler_policy,
    load_balancer_controller_policy,
    managed_policy_arn,
)
from infra.naming import stack_name

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"

# Service accounts that get an IRSA role, (namespace, name): the roles trust exactly these.
VPC_CNI_SA = ("kube-system", "aws-node")
LB_CONTROLLER_SA = ("kube-system", "aws-load-balancer-controller")
AUTOSCALER_SA = ("kube-system", "cluster-autoscaler")
KEDA_SA = ("keda", "keda-operator")

REPOSITORIES = {
    "aws-load-balancer-controller": "https://aws.github.io/eks-charts",
    "metrics-server": "https://kubernetes-sigs.github.io/metrics-server/",
    "keda": "https://kedacore.github.io/charts",
    "cluster-autoscaler": "https://kubernetes.github.io/autoscaler",
}

RoleFactory = Callable[..., aws.iam.Role]

VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
"""The vpc-cni add-on's configuration: its network policy agent enforces NetworkPolicies
(the app namespace's default-deny); without it they are accepted and silently ignored."""


def eks_addon(
    name: str,
    addon: str,
    *,
    cluster: aws.eks.Cluster,
    args: EksArgs,
    role: aws.iam.Role | None = None,
    configuration: dict[str, Any] | None = None,
    opts: pulumi.ResourceOptions,
) -> aws.eks.Addon:
    return aws.eks.Addon(
        f"{name}-{addon}",
        cluster_name=cluster.name,
        addon_name=addon,
        addon_version=args.addon_versions[addon],
        service_account_role_arn=role.arn if role else None,
        configuration_values=json.dumps(configuration) if configuration else None,
        # The add-on owns its objects: overwrite the self-managed copies if any exist.
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        opts=opts,
    )


def vpc_cni_role(name: str, *, partition: str, role_for: RoleFactory) -> aws.iam.Role:
    return role_for(
        f"{name}-vpc-cni",
        namespace=VPC_CNI_SA[0],
        service_account=VPC_CNI_SA[1],
        managed_policy_arns=[managed_policy_arn(partition, CNI_POLICY)],
    )


def helm_releases(
    name: str,
    *,
    args: EksArgs,
    cluster_name: str,
    region: str,
    partition: str,
    account_id: str,
    vpc_id: pulumi.Input[str],
    role_for: RoleFactory,
    provider: k8s.Provider,
    depends_on: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> tuple[dict[str, aws.iam.Role], dict[str, k8s.helm.v3.Release]]:
    """Install the controllers; returns their IRSA roles and their releases, by chart name.

    The releases are ``atomic`` (Helm waits until their Deployments, and so their admission
    webhooks, are ready): a custom resource that depends on the release of its CRD's chart
    reaches an API server that knows its kind and can admit it.
    """
    charts = args.charts
    roles = {
        "aws-load-balancer-controller": role_for(
            f"{name}-lb-controller",
            namespace=LB_CONTROLLER_SA[0],
            service_account=LB_CONTROLLER_SA[1],
            policy_documents=[json.dumps(load_balancer_controller_policy(partition, region, account_id, stack_name()))],
        ),
        "cluster-autoscaler": role_for(
            f"{name}-cluster-autoscaler",
            namespace=AUTOSCALER_SA[0],
            service_account=AUTOSCALER_SA[1],
            policy_documents=[json.dumps(cluster_autoscaler_policy(cluster_name))],
        ),
        # No policy yet: the app deployment attaches what KEDA's scalers need (MSK read).
        "keda": role_for(f"{name}-keda", namespace=KEDA_SA[0], service_account=KEDA_SA[1]),
    }
    k8s_opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on))

    keda_namespace = k8s.core.v1.Namespace(
        f"{name}-keda",
        metadata={
            "name": KEDA_SA[0],
            "labels": {
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
        opts=k8s_opts,
    )

    releases: dict[str, k8s.helm.v3.Release] = {}

    def release(chart: str, version: str, namespace: str, values: dict[str, Any], after: list[Any]) -> None:
        releases[chart] = k8s.helm.v3.Release(
            f"{name}-{chart}",
            name=chart,
            chart=chart,
            version=version,
            namespace=namespace,
            repository_opts={"repo": REPOSITORIES[chart]},
            values=values,
            atomic=True,
            max_history=10,
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=after)),
        )

    def sa(namespace_name: tuple[str, str], role: aws.iam.Role) -> dict[str, Any]:
        return {"create": True, "name": namespace_name[1], "annotations": {ROLE_ARN_ANNOTATION: role.arn}}

    release(
        "aws-load-balancer-controller",
        charts.aws_load_balancer_controller,
        LB_CONTROLLER_SA[0],
        {
            "clusterName": cluster_name,
            "region": region,
            "vpcId": vpc_id,  # no IMDS lookups: pods cannot reach IMDS (hop limit 1)
            "replicaCount": 2,
            "serviceAccount": sa(LB_CONTROLLER_SA, roles["aws-load-balancer-controller"]),
            # The app registers its pods through a TargetGroupBinding; no Service mutation needed.
            "enableServiceMutatorWebhook": False,
        },
        [],
    )
    release(
        "metrics-server",
        charts.metrics_server,
        "kube-system",
        {"replicas": 2, "args": ["--kubelet-preferred-address-types=InternalIP"]},
        [],
    )
    release(
        "keda",
        charts.keda,
        KEDA_SA[0],
        {
            "serviceAccount": {"operator": {"create": True, "name": KEDA_SA[1]}},
            "podIdentity": {"aws": {"irsa": {"enabled": True, "roleArn": roles["keda"].arn}}},
        },
        [keda_namespace],
    )
    release(
        "cluster-autoscaler",
        charts.cluster_autoscaler,
        AUTOSCALER_SA[0],
        {
            "cloudProvider": "aws",
            "awsRegion": region,
            "autoDiscovery": {"clusterName": cluster_name},
            "image": {"tag": args.autoscaler_image_tag},
            "rbac": {"serviceAccount": sa(AUTOSCALER_SA, roles["cluster-autoscaler"])},
            "extraArgs": {"balance-similar-node-groups": True, "expander": "least-waste"},
        },
        [],
    )
    return roles, releases
