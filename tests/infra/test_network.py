"""The Network component's behaviour in every stack, as moto built it."""

from __future__ import annotations

import json

from infra.offline.model import StackRun
from infra.offline.registry import ACCOUNT_ID

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"


def tier(run: StackRun, name: str) -> list:
    return [s for s in run.of_type(SUBNET) if s["tags"]["tier"] == name]


def routes_of_subnet(run: StackRun, subnet_id: str) -> list:
    tables = {a["routeTableId"] for a in run.of_type(ASSOCIATION) if a["subnetId"] == subnet_id}
    assert len(tables) == 1, f"subnet {subnet_id} should have exactly one route table, has {tables}"
    return [r for r in run.of_type(ROUTE) if r["routeTableId"] in tables]


def test_each_tier_has_one_subnet_per_az(each_stack: StackRun):
    zones = each_stack.outputs["availabilityZones"]
    for name in ("public", "private", "isolated"):
        assert sorted(s["availabilityZone"] for s in tier(each_stack, name)) == sorted(zones), name


def test_isolated_subnets_have_no_route_to_internet_or_nat(each_stack: StackRun):
    for subnet in tier(each_stack, "isolated"):
        routes = routes_of_subnet(each_stack, subnet.id)
        assert routes == [], f"isolated subnet {subnet.name} has routes {[r.inputs for r in routes]}"


def test_private_subnets_route_to_the_internet_through_nat(each_stack: StackRun):
    nat_ids = {n.id for n in each_stack.of_type("aws:ec2/natGateway:NatGateway")}
    for subnet in tier(each_stack, "private"):
        routes = routes_of_subnet(each_stack, subnet.id)
        assert [(r["destinationCidrBlock"], r.get("natGatewayId") in nat_ids) for r in routes] == [("0.0.0.0/0", True)]
        assert not any(r.get("gatewayId") for r in routes), f"{subnet.name} bypasses NAT"


def test_public_subnets_route_through_the_internet_gateway(each_stack: StackRun):
    igw = each_stack.one("aws:ec2/internetGateway:InternetGateway")
    for subnet in tier(each_stack, "public"):
        assert [r["gatewayId"] for r in routes_of_subnet(each_stack, subnet.id)] == [igw.id]


def test_only_public_subnets_map_public_ips(each_stack: StackRun):
    mapping = {s.name: bool(s.get("mapPublicIpOnLaunch")) for s in each_stack.of_type(SUBNET)}
    assert {n for n, on in mapping.items() if on} == {s.name for s in tier(each_stack, "public")}


def test_default_security_group_has_no_rules(each_stack: StackRun):
    group = each_stack.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert group.get("ingress") == [] and group.get("egress") == []
    assert group["vpcId"] == each_stack.outputs["vpcId"]


def test_flow_logs_capture_all_traffic_to_an_encrypted_log_group(each_stack: StackRun):
    flow = each_stack.one("aws:ec2/flowLog:FlowLog")
    group = each_stack.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
    key = each_stack.one("aws:kms/key:Key", "network-flow-logs")
    assert flow["vpcId"] == each_stack.outputs["vpcId"] and flow["trafficType"] == "ALL"
    assert flow["logDestination"] == group["arn"]
    assert group["kmsKeyId"] == key["arn"] and key["enableKeyRotation"] is True


def test_flow_log_retention_follows_the_stack(run_of):
    retention = {
        s: run_of(s).one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")["retentionInDays"]
        for s in ("dev", "prod")
    }
    assert retention == {"dev": 7, "prod": 365}


def test_prod_spans_three_azs_with_a_nat_gateway_in_each(run_of):
    prod = run_of("prod")
    nat_subnets = {n["subnetId"] for n in prod.of_type("aws:ec2/natGateway:NatGateway")}
    assert len(prod.outputs["availabilityZones"]) == 3
    assert nat_subnets == {s.id for s in tier(prod, "public")}


def test_dev_shares_a_single_nat_gateway_across_two_azs(run_of):
    dev = run_of("dev")
    assert len(dev.outputs["availabilityZones"]) == 2
    assert len(dev.of_type("aws:ec2/natGateway:NatGateway")) == 1


def test_subnets_carry_the_tags_kubernetes_load_balancers_need(each_stack: StackRun):
    cluster_tag = f"kubernetes.io/cluster/webscale-{each_stack.stack}"
    for s in tier(each_stack, "public"):
        assert s["tags"]["kubernetes.io/role/elb"] == "1" and s["tags"][cluster_tag] == "shared"
    for s in tier(each_stack, "private"):
        assert s["tags"]["kubernetes.io/role/internal-elb"] == "1" and s["tags"][cluster_tag] == "shared"


def test_vpc_endpoints_follow_config(run_of):
    def services(stack: str) -> set[str]:
        return {e["serviceName"].rsplit(".", 1)[-1] for e in run_of(stack).of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}

    assert services("dev") == set()
    assert {"s3", "api", "dkr", "sts", "logs"} <= services("prod")


def test_interface_endpoints_admit_https_only_from_the_vpc(run_of):
    prod = run_of("prod")
    rules = [
        r
        for r in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name.startswith("network-")
    ]
    assert [(r["fromPort"], r["toPort"], r["cidrIpv4"]) for r in rules] == [(443, 443, "10.30.0.0/16")]


def test_only_this_accounts_flow_logs_may_assume_the_flow_log_role(each_stack: StackRun):
    role = each_stack.one("aws:iam/role:Role", "network-flow-logs")
    (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(f":{ACCOUNT_ID}:vpc-flow-log/*")
