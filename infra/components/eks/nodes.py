"""The managed node group: AL2023 nodes in the private subnets, IMDSv2 only, encrypted disks."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra.components.eks.args import NodeGroupArgs
from infra.components.eks.policies import (
    ECR_PULL_ONLY_POLICY,
    WORKER_NODE_POLICY,
    assume_role_by_service,
    managed_policy_arn,
)
from infra.naming import stack_name

ROOT_DEVICE = "/dev/xvda"  # the root device of the AL2023 EKS AMIs

IMDS_HOP_LIMIT = 1
"""IMDSv2 tokens travel one hop: the node itself. A pod is one hop further (its own network
namespace), so it cannot fetch the node role's credentials; pods get AWS credentials from
their own IRSA role instead. Raise to 2 only for pods that must read instance metadata."""


def node_role(
    name: str, *, partition: str, parent: pulumi.Resource
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """The nodes' role: join the cluster and pull images, nothing more.

    No ``AmazonEKS_CNI_Policy`` here: the VPC CNI gets it through its own IRSA role, so
    pods cannot borrow the node's ENI permissions.
    """
    role = aws.iam.Role(
        f"{name}-node",
        description="EKS managed nodes",
        assume_role_policy=json.dumps(assume_role_by_service("ec2.amazonaws.com")),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-node-{policy}",
            role=role.name,
            policy_arn=managed_policy_arn(partition, policy),
            opts=pulumi.ResourceOptions(parent=role),
        )
        for policy in (WORKER_NODE_POLICY, ECR_PULL_ONLY_POLICY)
    ]
    return role, attachments


def launch_template(
    name: str,
    args: NodeGroupArgs,
    *,
    node_security_group_id: pulumi.Input[str],
    disk_key_arn: pulumi.Input[str],
    parent: pulumi.Resource,
) -> aws.ec2.LaunchTemplate:
    """What EKS's default template would not give us: IMDSv2 only, KMS-encrypted gp3 root."""
    return aws.ec2.LaunchTemplate(
        f"{name}-nodes",
        description="EKS managed nodes: IMDSv2 only, encrypted gp3 root volume",
        update_default_version=True,
        metadata_options={
            "http_endpoint": "enabled",
            "http_tokens": "required",
            "http_put_response_hop_limit": IMDS_HOP_LIMIT,
        },
        block_device_mappings=[
            {
                "device_name": ROOT_DEVICE,
                "ebs": {
                    "volume_size": args.disk_size_gib,
                    "volume_type": "gp3",
                    "encrypted": "true",
                    "kms_key_id": disk_key_arn,
                    "delete_on_termination": "true",
                },
            }
        ],
        vpc_security_group_ids=[node_security_group_id],
        tag_specifications=[
            {"resource_type": "instance", "tags": {"Name": stack_name("eks-node")}},
            {"resource_type": "volume", "tags": {"Name": stack_name("eks-node")}},
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )


def node_group(
    name: str,
    args: NodeGroupArgs,
    *,
    cluster: aws.eks.Cluster,
    role: aws.iam.Role,
    template: aws.ec2.LaunchTemplate,
    subnet_ids: Sequence[pulumi.Input[str]],
    depends_on: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> aws.eks.NodeGroup:
    """One general-purpose group across the private subnets of every AZ.

    The desired size is set once; afterwards the Cluster Autoscaler owns it, so Pulumi
    ignores its drift instead of scaling the group back on every deploy.

    Named by prefix: a change that replaces the group (instance types, AMI or capacity type,
    subnets, role) creates the new group before deleting the old one, and EKS refuses two
    groups of one name in a cluster. The version follows the control plane's, so nodes are
    upgraded (a rolling update) right after the cluster instead of being left a minor behind.
    """
    return aws.eks.NodeGroup(
        f"{name}-general",
        cluster_name=cluster.name,
        # The provider appends a 26-character unique suffix; node group names stop at 63.
        node_group_name_prefix=f"{stack_name('general', max_len=36)}-",
        version=cluster.version,
        node_role_arn=role.arn,
        subnet_ids=list(subnet_ids),
        ami_type=args.ami_type,
        capacity_type=args.capacity_type,
        instance_types=args.instance_types,
        scaling_config={"min_size": args.min_size, "desired_size": args.desired_size, "max_size": args.max_size},
        update_config={"max_unavailable_percentage": 33},
        launch_template={"id": template.id, "version": template.latest_version.apply(str)},
        labels={"workload": "general"},
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=list(depends_on), ignore_changes=["scalingConfig.desiredSize"]
        ),
    )
