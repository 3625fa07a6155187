"""Security groups of the control plane and the nodes, with the rules EKS documents.

- nodes -> control plane: 443 (kubelets and pods call the API);
- control plane -> nodes: 443 and 1025-65535 (kubelet 10250, webhooks, metrics APIs);
- node <-> node: everything (pods on different nodes talk to each other; pods use the node SG);
- nodes -> anywhere: everything (image pulls, AWS APIs through NAT or VPC endpoints).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.naming import stack_name


@dataclass(frozen=True)
class Rule:
    """One rule, as data, so the set can be read (and tested) as a table."""

    name: str
    direction: str  # "ingress" | "egress"
    group: str  # "cluster" | "node": the group the rule belongs to
    peer: str  # "cluster" | "node" | "anywhere"
    protocol: str
    from_port: int | None
    to_port: int | None
    description: str


RULES = (
    Rule("node-to-api", "ingress", "cluster", "node", "tcp", 443, 443, "Nodes and pods to the Kubernetes API"),
    Rule("api-to-nodes-egress", "egress", "cluster", "node", "tcp", 1025, 65535, "API to kubelets and webhooks"),
    Rule("api-to-nodes-443-egress", "egress", "cluster", "node", "tcp", 443, 443, "API to webhooks on 443"),
    Rule("api-to-nodes", "ingress", "node", "cluster", "tcp", 1025, 65535, "API to kubelets and webhooks"),
    Rule("api-to-nodes-443", "ingress", "node", "cluster", "tcp", 443, 443, "API to webhooks on 443"),
    Rule("node-to-node", "ingress", "node", "node", "-1", None, None, "Node and pod traffic between nodes"),
    Rule("node-egress", "egress", "node", "anywhere", "-1", None, None, "Nodes to NAT, VPC endpoints and peers"),
)


def security_groups(
    name: str,
    *,
    cluster_name: str,
    vpc_id: pulumi.Input[str],
    api_access_cidrs: Sequence[str],
    parent: pulumi.Resource,
) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
    """The cluster (control plane ENIs) and node security groups, wired to each other.

    ``api_access_cidrs`` may reach the private API endpoint on 443: where Pulumi itself (the
    Helm releases and the app are deployed through the API), operators and CI connect from.
    """
    opts = pulumi.ResourceOptions(parent=parent)
    groups = {
        "cluster": aws.ec2.SecurityGroup(
            f"{name}-cluster",
            vpc_id=vpc_id,
            description="EKS control plane ENIs",
            tags={"Name": stack_name("eks-cluster")},
            opts=opts,
        ),
        "node": aws.ec2.SecurityGroup(
            f"{name}-node",
            vpc_id=vpc_id,
            description="EKS nodes and their pods",
            # The load balancer controller finds the group to open for its targets by this tag.
            tags={"Name": stack_name("eks-node"), f"kubernetes.io/cluster/{cluster_name}": "owned"},
            opts=opts,
        ),
    }
    for rule in RULES:
        group = groups[rule.group]
        kwargs: dict[str, Any] = {
            "security_group_id": group.id,
            "description": rule.description,
            "ip_protocol": rule.protocol,
        }
        if rule.from_port is not None:
            kwargs |= {"from_port": rule.from_port, "to_port": rule.to_port}
        if rule.peer == "anywhere":
            kwargs["cidr_ipv4"] = "0.0.0.0/0"
        else:
            kwargs["referenced_security_group_id"] = groups[rule.peer].id
        cls = aws.vpc.SecurityGroupIngressRule if rule.direction == "ingress" else aws.vpc.SecurityGroupEgressRule
        cls(f"{name}-{rule.name}", **kwargs, opts=pulumi.ResourceOptions(parent=group))
    for i, cidr in enumerate(api_access_cidrs):
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-api-access-{i}",
            security_group_id=groups["cluster"].id,
            description=f"Kubernetes API from {cidr} (deployments, operators)",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=cidr,
            opts=pulumi.ResourceOptions(parent=groups["cluster"]),
        )
    return groups["cluster"], groups["node"]
