"""The EKS cluster in every stack: private API, encryption, logs, hardened nodes, controllers."""

from __future__ import annotations

import fnmatch
import json

import pytest

from infra.components.eks.kubeconfig import kubeconfig
from infra.offline.model import StackRun
from infra.offline.registry import ACCOUNT_ID

CLUSTER = "aws:eks/cluster:Cluster"
RELEASE = "kubernetes:helm.sh/v3:Release"
SIZES = {"dev": (1, 1, 3), "staging": (2, 2, 5), "prod": (3, 3, 10)}
RETENTION = {"dev": 7, "staging": 30, "prod": 365}
# chart -> the service account whose IRSA role it uses; None: it calls no AWS API.
CONTROLLERS = {
    "aws-load-balancer-controller": "eks-lb-controller",
    "cluster-autoscaler": "eks-cluster-autoscaler",
    "keda": "eks-keda",
    "metrics-server": None,
}


def test_api_endpoint_is_private_or_public_only_to_the_configured_cidrs(each_stack: StackRun):
    vpc = each_stack.one(CLUSTER)["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    if each_stack.stack == "dev":
        assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["203.0.113.0/24"]
    else:
        assert vpc["endpointPublicAccess"] is False, f"{each_stack.stack}: the API is public"
        assert not vpc.get("publicAccessCidrs")


def test_cluster_runs_in_the_private_subnets(each_stack: StackRun):
    vpc = each_stack.one(CLUSTER)["vpcConfig"]
    assert sorted(vpc["subnetIds"]) == sorted(each_stack.outputs["privateSubnetIds"])


def test_secrets_are_envelope_encrypted_with_a_rotating_key(each_stack: StackRun):
    encryption = each_stack.one(CLUSTER)["encryptionConfig"]
    assert encryption["resources"] == ["secrets"]
    key = next(k for k in each_stack.of_type("aws:kms/key:Key") if k["arn"] == encryption["provider"]["keyArn"])
    assert key["enableKeyRotation"] is True, f"{key.name} does not rotate"


def test_control_plane_logs_go_to_an_encrypted_group_with_retention(each_stack: StackRun):
    cluster = each_stack.one(CLUSTER)
    assert {"api", "audit", "authenticator"} <= set(cluster["enabledClusterLogTypes"])
    group = next(
        g
        for g in each_stack.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g["name"] == f"/aws/eks/{cluster.id}/cluster"
    )
    assert group["retentionInDays"] == RETENTION[each_stack.stack]
    assert group["kmsKeyId"].startswith("arn:aws:kms:")
    assert group.urn in cluster.dependencies, "the log group must exist before EKS would create its own"


def test_access_entries_only_with_no_implicit_creator_admin(each_stack: StackRun):
    access = each_stack.one(CLUSTER)["accessConfig"]
    assert access == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    (entry,) = each_stack.of_type("aws:eks/accessEntry:AccessEntry")
    (association,) = each_stack.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert entry["principalArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/platform-admin"
    assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association["accessScope"] == {"type": "cluster"}


def test_nodes_require_imdsv2_with_one_hop(each_stack: StackRun):
    template = each_stack.one("aws:ec2/launchTemplate:LaunchTemplate")
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert each_stack.one("aws:eks/nodeGroup:NodeGroup")["launchTemplate"]["id"] == template.id


def test_node_root_volumes_are_encrypted_gp3_with_a_kms_key(each_stack: StackRun):
    (mapping,) = each_stack.one("aws:ec2/launchTemplate:LaunchTemplate")["blockDeviceMappings"]
    ebs = mapping["ebs"]
    assert (ebs["encrypted"], ebs["volumeType"]) == ("true", "gp3")
    key = next(k for k in each_stack.of_type("aws:kms/key:Key") if k["arn"] == ebs["kmsKeyId"])
    policy = json.dumps(json.loads(key["policy"]))
    assert "AWSServiceRoleForAutoScaling" in policy, "Auto Scaling cannot launch nodes with this key"


def test_nodes_run_al2023_in_the_private_subnets_with_the_node_security_group(each_stack: StackRun):
    group = each_stack.one("aws:eks/nodeGroup:NodeGroup")
    assert group["amiType"].startswith("AL2023_")
    assert sorted(group["subnetIds"]) == sorted(each_stack.outputs["privateSubnetIds"])
    template = each_stack.one("aws:ec2/launchTemplate:LaunchTemplate")
    assert template["vpcSecurityGroupIds"] == [each_stack.outputs["nodeSecurityGroupId"]]


def test_node_group_sizes_follow_the_stack(each_stack: StackRun):
    scaling = each_stack.one("aws:eks/nodeGroup:NodeGroup")["scalingConfig"]
    sizes = (scaling["minSize"], scaling["desiredSize"], scaling["maxSize"])
    assert sizes == SIZES[each_stack.stack], f"{each_stack.stack}: {sizes}"


def test_node_role_has_only_join_and_pull_policies(each_stack: StackRun):
    role = each_stack.one("aws:iam/role:Role", "eks-node")
    attached = {
        a["policyArn"].rsplit("/", 1)[-1]
        for a in each_stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["role"] == role.id
    }
    assert attached == {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"}


@pytest.mark.parametrize("chart", sorted(CONTROLLERS))
def test_controller_is_installed_with_a_pinned_chart(each_stack: StackRun, chart: str):
    release = each_stack.one(RELEASE, f"eks-{chart}")
    assert release["chart"] == chart and release["version"].count(".") == 2, release.inputs
    assert release.provider and "pulumi:providers:kubernetes" in release.provider, "not on the cluster's provider"


def values_mention(values: object, text: str) -> bool:
    return text in json.dumps(values)


@pytest.mark.parametrize(("chart", "role_name"), [(c, r) for c, r in sorted(CONTROLLERS.items()) if r])
def test_aws_calling_controllers_use_their_own_irsa_role(each_stack: StackRun, chart: str, role_name: str):
    release = each_stack.one(RELEASE, f"eks-{chart}")
    role = each_stack.one("aws:iam/role:Role", role_name)
    assert values_mention(release["values"], role["arn"]), f"{chart} does not use {role_name}"
    others = [r["arn"] for n, r in ((r.name, r) for r in each_stack.of_type("aws:iam/role:Role")) if n != role_name]
    assert not any(values_mention(release["values"], arn) for arn in others), f"{chart} uses another role"


def test_metrics_server_gets_no_aws_role(each_stack: StackRun):
    values = each_stack.one(RELEASE, "eks-metrics-server")["values"]
    assert "arn:aws:iam" not in json.dumps(values)


def test_lb_controller_knows_vpc_cluster_and_region(each_stack: StackRun):
    values = each_stack.one(RELEASE, "eks-aws-load-balancer-controller")["values"]
    assert values["vpcId"] == each_stack.outputs["vpcId"]
    assert values["clusterName"] == each_stack.outputs["clusterName"]
    assert values["region"] == each_stack.region


def test_node_security_group_admits_the_control_plane_and_peers_only(each_stack: StackRun):
    node_sg = each_stack.outputs["nodeSecurityGroupId"]
    cluster_sg = each_stack.outputs["clusterSecurityGroupId"]
    ingress = [
        r
        for r in each_stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == node_sg
    ]
    # The app deployment admits the ALB to the API pods (which use the node group) on 8000 only.
    alb_sg = each_stack.outputs["albSecurityGroupId"]
    from_alb = [r for r in ingress if r.get("referencedSecurityGroupId") == alb_sg]
    assert all((r["fromPort"], r["toPort"]) == (8000, 8000) for r in from_alb), "the ALB reaches more than the API"
    peers = [r for r in ingress if r not in from_alb]
    assert peers and all(r.get("referencedSecurityGroupId") in (node_sg, cluster_sg) for r in peers)
    assert not any(r.get("cidrIpv4") for r in ingress), "the node group is open to an address range"
    to_api = [
        r
        for r in each_stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == cluster_sg and r.get("referencedSecurityGroupId")
    ]  # (the deploying networks' CIDR rules: test_private_api_endpoint_admits_...)
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in to_api] == [(node_sg, 443, 443)]


@pytest.mark.parametrize("component", ["PostgresDatabase", "RedisCache", "KafkaCluster"])
def test_data_tier_admits_the_node_security_group_and_nothing_wider(each_stack: StackRun, component: str):
    node_sg = each_stack.outputs["nodeSecurityGroupId"]
    (store,) = [r for r in each_stack.resources if r.type == f"webscale:index:{component}"]
    groups = {g.id for g in each_stack.children(store, "aws:ec2/securityGroup:SecurityGroup")}
    assert groups, f"{component} has no security group"
    rules = [
        r
        for r in each_stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] in groups
    ]
    sources = {(r.get("referencedSecurityGroupId"), r.get("cidrIpv4"), r.get("cidrIpv6")) for r in rules}
    assert sources == {(node_sg, None, None)}, f"{component} admits {sources}"


def test_kubernetes_provider_uses_a_token_from_aws_eks_get_token(run_of):
    dev = run_of("dev")
    (provider,) = [r for r in dev.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs["enableServerSideApply"] == "true"
    config = json.loads(provider.inputs["kubeconfig"])
    cluster = dev.one(CLUSTER)
    assert config["clusters"][0]["cluster"]["server"] == cluster["endpoint"]
    assert config["users"][0]["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", cluster.id]
    assert config["users"][0]["user"]["exec"]["args"][4:6] == ["--region", dev.region]


def test_kubeconfig_is_a_secret(run_of):
    dev = run_of("dev")
    (provider,) = [r for r in dev.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs["kubeconfig"] in dev.secrets


def test_kubeconfig_builder_execs_aws_eks_get_token():
    config = kubeconfig(cluster_name="c", endpoint="https://x", certificate_authority="Q0E=", region="eu-west-1")
    user = config["users"][0]["user"]
    assert "token" not in user and user["exec"]["command"] == "aws"
    assert user["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        "c",
        "--region",
        "eu-west-1",
        "--output",
        "json",
    ]
    assert config["clusters"][0]["cluster"] == {"server": "https://x", "certificate-authority-data": "Q0E="}
    assert config["current-context"] == "c"


def test_the_keda_namespace_is_schema_validated(each_stack: StackRun):
    namespace = each_stack.one("kubernetes:core/v1:Namespace", "eks-keda")
    assert namespace.note.startswith("validated against the Kubernetes 1.35.0 schema")


def _lb_controller_statements(run: StackRun) -> list[dict]:
    policy = run.one("aws:iam/rolePolicy:RolePolicy", "eks-lb-controller-0")["policy"]
    return json.loads(policy)["Statement"]


def test_lb_controller_may_register_targets_only_in_the_stacks_own_target_groups(each_stack: StackRun):
    writes = [s for s in _lb_controller_statements(each_stack) if s["Resource"] != "*"]
    assert [sorted(s["Action"]) for s in writes] == [
        ["elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"]
    ]
    scope = writes[0]["Resource"]
    api_group = each_stack.one("aws:lb/targetGroup:TargetGroup")["arn"]
    assert fnmatch.fnmatchcase(api_group, scope), f"{scope} does not cover the API's target group {api_group}"
    other_stack = api_group.replace(f"webscale-{each_stack.stack}-", "webscale-other-")
    assert not fnmatch.fnmatchcase(other_stack, scope), f"{scope} reaches another stack's target groups"


def test_lb_controller_cannot_create_or_change_load_balancers_or_security_groups(each_stack: StackRun):
    actions = {a for s in _lb_controller_statements(each_stack) for a in s["Action"]}
    unscoped = {a for s in _lb_controller_statements(each_stack) if s["Resource"] == "*" for a in s["Action"]}
    assert all(":Describe" in a or ":Get" in a for a in unscoped), sorted(unscoped)
    assert not {
        a for a in actions if a.split(":")[1].startswith(("Create", "Delete", "Modify", "Authorize", "Revoke", "Set"))
    }


def test_private_api_endpoint_admits_the_deploying_networks_on_443_only(each_stack: StackRun):
    cluster_sg = each_stack.one("aws:eks/cluster:Cluster")["vpcConfig"]["securityGroupIds"][0]
    cidr_rules = [
        r
        for r in each_stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["securityGroupId"] == cluster_sg and r.get("cidrIpv4")
    ]
    vpc_cidr = each_stack.one("aws:ec2/vpc:Vpc")["cidrBlock"]
    assert [(r["cidrIpv4"], r["fromPort"], r["toPort"]) for r in cidr_rules] == [(vpc_cidr, 443, 443)]


def test_kubernetes_objects_wait_for_the_admin_access_entries(each_stack: StackRun):
    """No creator admin: until the associations exist, Pulumi itself has no access to the API."""
    associations = {r.urn for r in each_stack.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")}
    provider = each_stack.one("pulumi:providers:kubernetes")
    assert associations and associations <= set(provider.dependencies)
