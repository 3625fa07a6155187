"""EC2 and VPC types, emulated in moto."""

from __future__ import annotations

from infra.offline.registry import Created, Ctx, stable_suffix, translator


@translator("aws:ec2/vpc:Vpc")
def vpc(ctx: Ctx) -> Created:
    ec2 = ctx.client("ec2")
    v = ec2.create_vpc(CidrBlock=ctx.inputs["cidrBlock"], TagSpecifications=ctx.tag_spec("vpc"))["Vpc"]
    vpc_id = v["VpcId"]
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        if attribute in ctx.inputs:
            ec2.modify_vpc_attribute(
                VpcId=vpc_id, **{attribute[0].upper() + attribute[1:]: {"Value": ctx.inputs[attribute]}}
            )
    default_sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    main_rt = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]
    acl = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NetworkAcls"][0]["NetworkAclId"]
    return Created(
        vpc_id,
        {
            "arn": ctx.arn("ec2", f"vpc/{vpc_id}"),
            "defaultSecurityGroupId": default_sg,
            "mainRouteTableId": main_rt,
            "defaultRouteTableId": main_rt,
            "defaultNetworkAclId": acl,
            "ownerId": ctx.account_id,
        },
    )


@translator("aws:ec2/subnet:Subnet")
def subnet(ctx: Ctx) -> Created:
    ec2 = ctx.client("ec2")
    s = ec2.create_subnet(
        VpcId=ctx.inputs["vpcId"],
        CidrBlock=ctx.inputs["cidrBlock"],
        AvailabilityZone=ctx.inputs["availabilityZone"],
        TagSpecifications=ctx.tag_spec("subnet"),
    )["Subnet"]
    if ctx.inputs.get("mapPublicIpOnLaunch"):
        ec2.modify_subnet_attribute(SubnetId=s["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    return Created(s["SubnetId"], {"arn": s["SubnetArn"], "ownerId": ctx.account_id})


@translator("aws:ec2/internetGateway:InternetGateway")
def internet_gateway(ctx: Ctx) -> Created:
    ec2 = ctx.client("ec2")
    igw = ec2.create_internet_gateway(TagSpecifications=ctx.tag_spec("internet-gateway"))["InternetGateway"]
    igw_id = igw["InternetGatewayId"]
    if ctx.inputs.get("vpcId"):
        ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=ctx.inputs["vpcId"])
    return Created(igw_id, {"arn": ctx.arn("ec2", f"internet-gateway/{igw_id}"), "ownerId": ctx.account_id})


@translator("aws:ec2/eip:Eip")
def eip(ctx: Ctx) -> Created:
    e = ctx.client("ec2").allocate_address(Domain="vpc", TagSpecifications=ctx.tag_spec("elastic-ip"))
    return Created(
        e["AllocationId"],
        {
            "allocationId": e["AllocationId"],
            "publicIp": e["PublicIp"],
            "arn": ctx.arn("ec2", f"elastic-ip/{e['AllocationId']}"),
        },
    )


@translator("aws:ec2/natGateway:NatGateway")
def nat_gateway(ctx: Ctx) -> Created:
    n = ctx.client("ec2").create_nat_gateway(
        AllocationId=ctx.inputs["allocationId"],
        SubnetId=ctx.inputs["subnetId"],
        TagSpecifications=ctx.tag_spec("natgateway"),
    )["NatGateway"]
    address = n["NatGatewayAddresses"][0]
    return Created(
        n["NatGatewayId"],
        {
            "networkInterfaceId": address.get("NetworkInterfaceId"),
            "privateIp": address.get("PrivateIp"),
            "publicIp": address.get("PublicIp"),
        },
    )


@translator("aws:ec2/routeTable:RouteTable")
def route_table(ctx: Ctx) -> Created:
    rt = ctx.client("ec2").create_route_table(VpcId=ctx.inputs["vpcId"], TagSpecifications=ctx.tag_spec("route-table"))
    rt_id = rt["RouteTable"]["RouteTableId"]
    return Created(rt_id, {"arn": ctx.arn("ec2", f"route-table/{rt_id}"), "ownerId": ctx.account_id})


_ROUTE_TARGETS = {
    "gatewayId": "GatewayId",
    "natGatewayId": "NatGatewayId",
    "vpcEndpointId": "VpcEndpointId",
    "transitGatewayId": "TransitGatewayId",
    "networkInterfaceId": "NetworkInterfaceId",
}


@translator("aws:ec2/route:Route")
def route(ctx: Ctx) -> Created:
    targets = {api: ctx.inputs[key] for key, api in _ROUTE_TARGETS.items() if ctx.inputs.get(key)}
    ctx.client("ec2").create_route(
        RouteTableId=ctx.inputs["routeTableId"], DestinationCidrBlock=ctx.inputs["destinationCidrBlock"], **targets
    )
    return Created(
        f"r-{ctx.inputs['routeTableId']}{stable_suffix(ctx.inputs['destinationCidrBlock'])}", {"state": "active"}
    )


@translator("aws:ec2/routeTableAssociation:RouteTableAssociation")
def route_table_association(ctx: Ctx) -> Created:
    a = ctx.client("ec2").associate_route_table(
        RouteTableId=ctx.inputs["routeTableId"], SubnetId=ctx.inputs["subnetId"]
    )
    return Created(a["AssociationId"])


@translator("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
def default_security_group(ctx: Ctx) -> Created:
    """Adopt the VPC's default group and strip it to the rules given (none, here)."""
    ec2 = ctx.client("ec2")
    group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [ctx.inputs["vpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    if group["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    if group["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])
    if ctx.inputs.get("ingress") or ctx.inputs.get("egress"):
        raise ValueError("the offline engine only emulates a default security group with no rules")
    if ctx.tags:
        ec2.create_tags(Resources=[group["GroupId"]], Tags=ctx.tag_list())
    return Created(group["GroupId"], {"arn": ctx.arn("ec2", f"security-group/{group['GroupId']}"), "name": "default"})


@translator("aws:ec2/securityGroup:SecurityGroup")
def security_group(ctx: Ctx) -> Created:
    ec2 = ctx.client("ec2")
    name = ctx.physical_name(max_len=255)
    sg = ec2.create_security_group(
        GroupName=name,
        Description=ctx.inputs.get("description") or "Managed by Pulumi",
        VpcId=ctx.inputs["vpcId"],
        TagSpecifications=ctx.tag_spec("security-group"),
    )
    group_id = sg["GroupId"]
    if ctx.inputs.get("ingress") or ctx.inputs.get("egress"):
        raise ValueError("inline rules are not used in this stack; declare aws.vpc.SecurityGroup*Rule resources")
    # AWS adds allow-all egress to a new group; Pulumi removes it unless egress is
    # declared, so an emulated group starts with no rules either.
    egress = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissionsEgress"]
    if egress:
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=egress)
    return Created(
        group_id, {"arn": ctx.arn("ec2", f"security-group/{group_id}"), "name": name, "ownerId": ctx.account_id}
    )


def _rule_permission(ctx: Ctx) -> dict[str, object]:
    i = ctx.inputs
    permission: dict[str, object] = {"IpProtocol": str(i["ipProtocol"])}
    if i.get("fromPort") is not None:
        permission["FromPort"] = int(i["fromPort"])
        permission["ToPort"] = int(i["toPort"])
    if i.get("cidrIpv4"):
        permission["IpRanges"] = [{"CidrIp": i["cidrIpv4"], "Description": i.get("description", "")}]
    if i.get("cidrIpv6"):
        permission["Ipv6Ranges"] = [{"CidrIpv6": i["cidrIpv6"]}]
    if i.get("referencedSecurityGroupId"):
        permission["UserIdGroupPairs"] = [{"GroupId": i["referencedSecurityGroupId"]}]
    if i.get("prefixListId"):
        permission["PrefixListIds"] = [{"PrefixListId": i["prefixListId"]}]
    return permission


@translator("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
def ingress_rule(ctx: Ctx) -> Created:
    r = ctx.client("ec2").authorize_security_group_ingress(
        GroupId=ctx.inputs["securityGroupId"], IpPermissions=[_rule_permission(ctx)]
    )
    rule_id = r["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    return Created(rule_id, {"securityGroupRuleId": rule_id, "arn": ctx.arn("ec2", f"security-group-rule/{rule_id}")})


@translator("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
def egress_rule(ctx: Ctx) -> Created:
    r = ctx.client("ec2").authorize_security_group_egress(
        GroupId=ctx.inputs["securityGroupId"], IpPermissions=[_rule_permission(ctx)]
    )
    rule_id = r["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    return Created(rule_id, {"securityGroupRuleId": rule_id, "arn": ctx.arn("ec2", f"security-group-rule/{rule_id}")})


@translator("aws:ec2/vpcEndpoint:VpcEndpoint")
def vpc_endpoint(ctx: Ctx) -> Created:
    i = ctx.inputs
    kwargs: dict[str, object] = {
        "VpcId": i["vpcId"],
        "ServiceName": i["serviceName"],
        "VpcEndpointType": i.get("vpcEndpointType", "Gateway"),
        "TagSpecifications": ctx.tag_spec("vpc-endpoint"),
    }
    if i.get("routeTableIds"):
        kwargs["RouteTableIds"] = i["routeTableIds"]
    if i.get("subnetIds"):
        kwargs["SubnetIds"] = i["subnetIds"]
    if i.get("securityGroupIds"):
        kwargs["SecurityGroupIds"] = i["securityGroupIds"]
    if "privateDnsEnabled" in i:
        kwargs["PrivateDnsEnabled"] = i["privateDnsEnabled"]
    e = ctx.client("ec2").create_vpc_endpoint(**kwargs)["VpcEndpoint"]
    return Created(
        e["VpcEndpointId"],
        {
            "arn": ctx.arn("ec2", f"vpc-endpoint/{e['VpcEndpointId']}"),
            "state": e.get("State", "available"),
            "dnsEntries": [
                {"dnsName": d["DnsName"], "hostedZoneId": d["HostedZoneId"]} for d in e.get("DnsEntries", [])
            ],
            "networkInterfaceIds": e.get("NetworkInterfaceIds", []),
        },
    )


@translator("aws:ec2/flowLog:FlowLog")
def flow_log(ctx: Ctx) -> Created:
    i = ctx.inputs
    kwargs: dict[str, object] = {
        "ResourceIds": [i["vpcId"]],
        "ResourceType": "VPC",
        "TrafficType": i.get("trafficType", "ALL"),
        "LogDestinationType": i.get("logDestinationType", "cloud-watch-logs"),
        "LogDestination": i["logDestination"],
        "MaxAggregationInterval": int(i.get("maxAggregationInterval", 600)),
        "TagSpecifications": ctx.tag_spec("vpc-flow-log"),
    }
    if i.get("iamRoleArn"):
        kwargs["DeliverLogsPermissionArn"] = i["iamRoleArn"]
    r = ctx.client("ec2").create_flow_logs(**kwargs)
    if r.get("Unsuccessful"):
        raise ValueError(f"flow log rejected: {r['Unsuccessful']}")
    flow_id = r["FlowLogIds"][0]
    return Created(flow_id, {"arn": ctx.arn("ec2", f"vpc-flow-log/{flow_id}")})
