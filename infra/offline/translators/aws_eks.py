"""EKS clusters and node groups in moto; add-ons, access entries and pod identity synthesized."""

from __future__ import annotations

from typing import Any

from infra.offline.registry import Created, Ctx, stable_suffix, synthesized, translator


def _vpc_config(inputs: dict[str, Any]) -> dict[str, Any]:
    vpc = inputs["vpcConfig"]
    config: dict[str, Any] = {
        "subnetIds": vpc["subnetIds"],
        "securityGroupIds": vpc.get("securityGroupIds") or [],
        "endpointPrivateAccess": bool(vpc.get("endpointPrivateAccess", False)),
        "endpointPublicAccess": bool(vpc.get("endpointPublicAccess", True)),
    }
    if vpc.get("publicAccessCidrs"):
        config["publicAccessCidrs"] = vpc["publicAccessCidrs"]
    return config


@translator("aws:eks/cluster:Cluster")
def cluster(ctx: Ctx) -> Created:
    i = ctx.inputs
    name = ctx.physical_name(max_len=100)
    vpc = _vpc_config(i)
    ec2 = ctx.client("ec2")
    vpc_id = ec2.describe_subnets(SubnetIds=vpc["subnetIds"])["Subnets"][0]["VpcId"]
    # EKS creates a security group of its own for the control plane and managed nodes; so do we.
    eks_sg = ec2.create_security_group(
        GroupName=f"eks-cluster-sg-{name}-{stable_suffix(ctx.urn, 10)}",
        Description="EKS created security group applied to ENI that is attached to EKS Control Plane master nodes",
        VpcId=vpc_id,
    )["GroupId"]
    kwargs: dict[str, Any] = {
        "name": name,
        "roleArn": i["roleArn"],
        "resourcesVpcConfig": vpc,
        "tags": ctx.tags,
    }
    if i.get("version"):
        kwargs["version"] = i["version"]
    if i.get("enabledClusterLogTypes"):
        kwargs["logging"] = {"clusterLogging": [{"types": i["enabledClusterLogTypes"], "enabled": True}]}
    if i.get("encryptionConfig"):
        enc = i["encryptionConfig"]
        kwargs["encryptionConfig"] = [
            {"resources": enc["resources"], "provider": {"keyArn": enc["provider"]["keyArn"]}}
        ]
    c = ctx.client("eks").create_cluster(**kwargs)["cluster"]
    return Created(
        name,
        {
            "name": name,
            "arn": c["arn"],
            "endpoint": c["endpoint"],
            "version": c["version"],
            "platformVersion": c["platformVersion"],
            "status": c["status"],
            "certificateAuthority": {"data": c["certificateAuthority"]["data"]},
            "identities": [{"oidcs": [{"issuer": c["identity"]["oidc"]["issuer"]}]}],
            "vpcConfig": {**i["vpcConfig"], "clusterSecurityGroupId": eks_sg, "vpcId": vpc_id},
        },
    )


@translator("aws:eks/nodeGroup:NodeGroup")
def node_group(ctx: Ctx) -> Created:
    i = ctx.inputs
    name = ctx.physical_name(key="nodeGroupName", prefix_key="nodeGroupNamePrefix")
    kwargs: dict[str, Any] = {
        "clusterName": i["clusterName"],
        "nodegroupName": name,
        "nodeRole": i["nodeRoleArn"],
        "subnets": i["subnetIds"],
        "scalingConfig": {k: int(v) for k, v in i["scalingConfig"].items()},
        "tags": ctx.tags,
    }
    for key, api in (
        ("instanceTypes", "instanceTypes"),
        ("amiType", "amiType"),
        ("capacityType", "capacityType"),
        ("version", "version"),
    ):
        if i.get(key):
            kwargs[api] = i[key]
    if i.get("labels"):
        kwargs["labels"] = i["labels"]
    if i.get("launchTemplate"):
        template = i["launchTemplate"]
        # A real reference: fails the run when the template does not exist.
        ctx.client("ec2").describe_launch_templates(LaunchTemplateIds=[template["id"]])
        kwargs["launchTemplate"] = {"id": template["id"], "version": str(template["version"])}
    g = ctx.client("eks").create_nodegroup(**kwargs)["nodegroup"]
    return Created(
        f"{i['clusterName']}:{name}",
        {
            "nodeGroupName": name,
            "arn": g["nodegroupArn"],
            "status": g["status"],
            "resources": [{"autoscalingGroups": [{"name": a["name"]} for a in g["resources"]["autoScalingGroups"]]}],
        },
    )


synthesized(
    "aws:eks/addon:Addon",
    reason="moto has no EKS CreateAddon",
    outputs=lambda ctx: {
        "arn": ctx.arn("eks", f"addon/{ctx.inputs['clusterName']}/{ctx.inputs['addonName']}/{stable_suffix(ctx.urn)}")
    },
)
synthesized(
    "aws:eks/accessEntry:AccessEntry",
    reason="moto has no EKS access entries (CreateAccessEntry)",
    outputs=lambda ctx: {
        "accessEntryArn": ctx.arn("eks", f"access-entry/{ctx.inputs['clusterName']}/{stable_suffix(ctx.urn)}"),
        "userName": ctx.inputs["principalArn"],
        "type": ctx.inputs.get("type", "STANDARD"),
    },
)
synthesized(
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    reason="moto has no EKS access entries (AssociateAccessPolicy)",
)
synthesized(
    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    reason="moto has no EKS pod identity associations",
    outputs=lambda ctx: {"associationId": f"a-{stable_suffix(ctx.urn, 17)}"},
)
