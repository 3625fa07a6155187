"""EC2/VPC rules: the default security group, flow logs and public IPs on launch."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource

from infra.policies.rules._rule import Control, Problems, get, items, of_type, resource_rule, stack_rule

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"

PUBLIC_TIER_TAG = ("tier", "public")
"""EC2.15 exemption: subnets tagged ``tier=public`` (the Network component's public tier, which
hosts only NAT gateways and internet-facing load balancers) may map public IPs on launch."""

EC2_2 = Control("EC2.2", "VPC default security groups should not allow inbound or outbound traffic")


def default_sg_rule_problems(props: Mapping[str, Any]) -> Problems:
    """Absent ingress/egress means none: the provider strips every rule when it adopts the group."""
    problems = []
    for direction in ("ingress", "egress"):
        rules = items(get(props, direction))
        if rules:
            problems.append(f"the default security group keeps {len(rules)} {direction} rule(s)")
    return problems


def _id(resource: PolicyResource) -> Any:
    return get(resource.props, "id")


def unmanaged_default_sg(resources: Sequence[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    """EC2.2 at stack level: AWS gives every VPC a default group that allows traffic; each VPC's must be adopted."""
    adopted = {get(g.props, "vpcId") for g in of_type(resources, DEFAULT_SG)}
    for vpc in of_type(resources, VPC):
        if _id(vpc) not in adopted:
            yield vpc, "its default security group is not adopted and stripped (it allows traffic as AWS creates it)"


def vpcs_without_flow_logs(resources: Sequence[PolicyResource]) -> Iterator[tuple[PolicyResource, str]]:
    """EC2.6: every VPC has a flow log capturing at least rejected traffic."""
    logged = {
        get(f.props, "vpcId") for f in of_type(resources, FLOW_LOG) if get(f.props, "trafficType") in ("ALL", "REJECT")
    }
    for vpc in of_type(resources, VPC):
        if _id(vpc) not in logged:
            yield vpc, "the VPC has no flow log capturing ALL or REJECT traffic"


def public_ip_problems(props: Mapping[str, Any]) -> Problems:
    if not get(props, "mapPublicIpOnLaunch", default=False):
        return []
    key, value = PUBLIC_TIER_TAG
    if get(props, "tags", key) == value:
        return []
    return [f"the subnet maps public IPs on launch but is not tagged {key}={value}"]


POLICIES = [
    resource_rule(
        "ec2-2-default-sg-no-rules",
        EC2_2,
        [DEFAULT_SG],
        default_sg_rule_problems,
        "pass ingress=[] and egress=[] to the aws.ec2.DefaultSecurityGroup",
    ),
    stack_rule(
        "ec2-2-default-sg-adopted",
        EC2_2,
        unmanaged_default_sg,
        "adopt the VPC's default group with aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id, ingress=[], egress=[])",
        why="Stack check: every aws.ec2.Vpc has an aws.ec2.DefaultSecurityGroup that strips its rules.",
    ),
    stack_rule(
        "ec2-6-vpc-flow-logs",
        Control("EC2.6", "VPC flow logging should be enabled in all VPCs"),
        vpcs_without_flow_logs,
        'add an aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type="ALL", ...) for the aws.ec2.Vpc',
    ),
    resource_rule(
        "ec2-15-no-public-ip-on-launch",
        Control("EC2.15", "Amazon EC2 subnets should not automatically assign public IP addresses"),
        [SUBNET],
        public_ip_problems,
        "set map_public_ip_on_launch=False on the aws.ec2.Subnet (only the tier=public subnets may map public IPs)",
        why="Exemption: subnets tagged tier=public, which host only NAT gateways and internet-facing load balancers.",
    ),
]
