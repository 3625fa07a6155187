"""The Network component: a VPC in three tiers across two or three AZs.

- public: load balancers and NAT gateways; the only tier that maps public IPs;
- private: EKS nodes and pods, egress through NAT;
- isolated: RDS, ElastiCache and MSK, with no route to an internet or NAT gateway.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from infra.args import ConfigModel, check_log_retention
from infra.components.cidr import MAX_AZS, plan_subnets
from infra.components.kms import encryption_key
from infra.naming import stack_name

INTERFACE_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "sts", "logs", "ec2", "elasticloadbalancing")
"""AWS APIs that nodes call at boot or run time (image pulls, IRSA, logs, the VPC CNI
and the load balancer controller), reached privately instead of through NAT."""


class NetworkArgs(ConfigModel):
    """The VPC: its address range, AZs, NAT gateways, flow logs and endpoints."""

    cidr: str = "10.0.0.0/16"
    """The VPC's IPv4 range. Default: a /16, room for one pod address per VPC CNI slot."""
    az_count: int = Field(default=3, ge=2, le=MAX_AZS)
    """Availability zones to span, 2..3. Default 3: losing one AZ leaves two."""
    nat_gateways: Literal["single", "one-per-az"] = "one-per-az"
    """``one-per-az`` (default) keeps egress up when an AZ fails; ``single`` is cheaper for dev."""
    flow_logs: bool = True
    """VPC flow logs to CloudWatch Logs. Default on: the record of who talked to whom."""
    flow_log_retention_days: int = 90
    """Days to keep flow logs; one of the periods CloudWatch accepts. Default 90."""
    vpc_endpoints: bool = True
    """S3 gateway endpoint plus interface endpoints for the AWS APIs nodes use. Default
    on: keeps that traffic off NAT (cost) and off the internet (exposure)."""

    @field_validator("cidr")
    @classmethod
    def _cidr_is_a_network(cls, cidr: str) -> str:
        try:
            network = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError as err:
            raise ValueError(f"is not an IPv4 network in CIDR notation ({err})") from None
        if not network.is_private:
            raise ValueError("must be a private (RFC 1918) range")
        return cidr

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        return check_log_retention(days)

    @model_validator(mode="after")
    def _subnets_fit(self) -> NetworkArgs:
        plan_subnets(self.cidr, self.az_count)  # raises, naming the smallest VPC that fits
        return self


class Network(pulumi.ComponentResource):
    """A VPC with public, private and isolated subnets, NAT, flow logs and endpoints."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    availability_zones: list[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    isolated_subnet_ids: list[pulumi.Output[str]]
    public_route_table_id: pulumi.Output[str]
    private_route_table_ids: list[pulumi.Output[str]]
    isolated_route_table_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: NetworkArgs,
        *,
        cluster_name: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("webscale:index:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        zones = aws.get_availability_zones(state="available", opts=pulumi.InvokeOptions(parent=self)).names
        if len(zones) < args.az_count:
            raise ValueError(f"network.azCount is {args.az_count} but the region has only {len(zones)} AZs")
        self.availability_zones = sorted(zones)[: args.az_count]
        self.vpc_cidr = args.cidr
        plan = plan_subnets(args.cidr, args.az_count)

        vpc = aws.ec2.Vpc(
            name,
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # interface endpoints and EKS private DNS need both
            tags={"Name": stack_name()},
            opts=child,
        )
        self.vpc_id = vpc.id
        vpc_child = pulumi.ResourceOptions(parent=vpc)

        # Take over the default security group and leave it with no rules, so nothing
        # that lands in it by accident can talk to anything (EC2.2).
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], opts=vpc_child)

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": stack_name("igw")}, opts=vpc_child)

        def subnet(tier: str, index: int, cidr: str, extra_tags: dict[str, str]) -> aws.ec2.Subnet:
            zone = self.availability_zones[index]
            tags = {"Name": stack_name(tier, zone), "tier": tier, **extra_tags}
            if cluster_name:
                tags[f"kubernetes.io/cluster/{cluster_name}"] = "shared"
            return aws.ec2.Subnet(
                f"{name}-{tier}-{index}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=tier == "public",
                tags=tags,
                opts=vpc_child,
            )

        public = [subnet("public", i, c, {"kubernetes.io/role/elb": "1"}) for i, c in enumerate(plan.public)]
        private = [
            subnet("private", i, c, {"kubernetes.io/role/internal-elb": "1"}) for i, c in enumerate(plan.private)
        ]
        isolated = [subnet("isolated", i, c, {}) for i, c in enumerate(plan.isolated)]
        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
        self.isolated_subnet_ids = [s.id for s in isolated]

        public_rt = self._route_table(f"{name}-public", vpc, public)
        aws.ec2.Route(
            f"{name}-public-internet",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=pulumi.ResourceOptions(parent=public_rt),
        )
        self.public_route_table_id = public_rt.id

        nat_count = args.az_count if args.nat_gateways == "one-per-az" else 1
        nats = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags={"Name": stack_name("nat", str(i))}, opts=vpc_child)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=public[i].id,
                    tags={"Name": stack_name("nat", self.availability_zones[i])},
                    opts=pulumi.ResourceOptions(parent=vpc, depends_on=[igw]),
                )
            )

        private_rts = []
        for i, s in enumerate(private):
            rt = self._route_table(f"{name}-private-{i}", vpc, [s])
            aws.ec2.Route(
                f"{name}-private-{i}-nat",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[i % nat_count].id,  # the NAT in the subnet's own AZ when there is one per AZ
                opts=pulumi.ResourceOptions(parent=rt),
            )
            private_rts.append(rt)
        self.private_route_table_ids = [rt.id for rt in private_rts]

        # Isolated subnets get a route table of their own with only the local route.
        isolated_rt = self._route_table(f"{name}-isolated", vpc, isolated)
        self.isolated_route_table_id = isolated_rt.id

        if args.flow_logs:
            self._flow_logs(name, vpc, args.flow_log_retention_days)
        if args.vpc_endpoints:
            self._endpoints(name, vpc, [*private_rts, isolated_rt], private)

        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "availability_zones": self.availability_zones,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "isolated_subnet_ids": self.isolated_subnet_ids,
            }
        )

    def _route_table(self, name: str, vpc: aws.ec2.Vpc, subnets: list[aws.ec2.Subnet]) -> aws.ec2.RouteTable:
        rt = aws.ec2.RouteTable(
            name, vpc_id=vpc.id, tags={"Name": stack_name(name)}, opts=pulumi.ResourceOptions(parent=vpc)
        )
        for i, s in enumerate(subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-{i}", subnet_id=s.id, route_table_id=rt.id, opts=pulumi.ResourceOptions(parent=rt)
            )
        return rt

    def _flow_logs(self, name: str, vpc: aws.ec2.Vpc, retention_days: int) -> None:
        invoke = pulumi.InvokeOptions(parent=self)
        account_id = aws.get_caller_identity(opts=invoke).account_id
        partition = aws.get_partition(opts=invoke).partition
        region = aws.get_region(opts=invoke).region
        key = encryption_key(
            f"{name}-flow-logs",
            description=f"Encrypts the VPC flow logs of {stack_name()}",
            alias=stack_name("flow-logs"),
            parent=self,
            for_logs=True,
        )
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/aws/vpc/{stack_name()}/flow-logs",
            retention_in_days=retention_days,
            kms_key_id=key.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            # Only for this account's flow logs (no confused deputy).
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": account_id},
                                "ArnLike": {
                                    "aws:SourceArn": f"arn:{partition}:ec2:{region}:{account_id}:vpc-flow-log/*"
                                },
                            },
                        }
                    ],
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                "Resource": [arn, f"{arn}:*"],
                            },
                            # In AWS's documented flow-log role; it takes no resource scoping.
                            {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
                        ],
                    }
                )
            ),
            opts=pulumi.ResourceOptions(parent=role),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            opts=pulumi.ResourceOptions(parent=vpc),
        )

    def _endpoints(
        self, name: str, vpc: aws.ec2.Vpc, route_tables: list[aws.ec2.RouteTable], private: list[aws.ec2.Subnet]
    ) -> None:
        region = aws.get_region(opts=pulumi.InvokeOptions(parent=self)).region
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in route_tables],
            opts=pulumi.ResourceOptions(parent=vpc),
        )
        sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=vpc.id,
            description="HTTPS from inside the VPC to the AWS API interface endpoints",
            tags={"Name": stack_name("endpoints")},
            opts=pulumi.ResourceOptions(parent=vpc),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https",
            security_group_id=sg.id,
            description="HTTPS from the VPC",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=self.vpc_cidr,
            opts=pulumi.ResourceOptions(parent=sg),
        )
        for service in INTERFACE_ENDPOINT_SERVICES:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in private],
                security_group_ids=[sg.id],
                opts=pulumi.ResourceOptions(parent=vpc),
            )
