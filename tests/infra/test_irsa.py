"""IRSA: every role trusts exactly one service account, through the cluster's OIDC provider."""

from __future__ import annotations

import json

import pytest

from infra.components.eks.irsa import trust_policy
from infra.offline.model import StackRun

PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"
HOST = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"

EXPECTED = {
    "eks-vpc-cni": "system:serviceaccount:kube-system:aws-node",
    "eks-lb-controller": "system:serviceaccount:kube-system:aws-load-balancer-controller",
    "eks-cluster-autoscaler": "system:serviceaccount:kube-system:cluster-autoscaler",
    "eks-keda": "system:serviceaccount:keda:keda-operator",
}


def test_trust_policy_names_one_service_account_and_the_sts_audience():
    statement = trust_policy(PROVIDER, ISSUER, "shop", "api")["Statement"]
    assert statement == [
        {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{HOST}:sub": "system:serviceaccount:shop:api",
                    f"{HOST}:aud": "sts.amazonaws.com",
                }
            },
        }
    ]


@pytest.mark.parametrize(("namespace", "service_account"), [("shop", "*"), ("*", "api"), ("", "api"), ("shop", "")])
def test_trust_policy_refuses_wildcards_and_blanks(namespace: str, service_account: str):
    with pytest.raises(ValueError, match="exactly one service account"):
        trust_policy(PROVIDER, ISSUER, namespace, service_account)


def irsa_roles(run: StackRun) -> dict[str, dict]:
    roles = {}
    for role in run.of_type("aws:iam/role:Role"):
        if "webscale:index:EksCluster" not in role.urn:
            continue  # the app's roles are tested with the app (test_app_deployment.py)
        document = json.loads(role["assumeRolePolicy"])
        if any("Federated" in s["Principal"] for s in document["Statement"]):
            roles[role.name] = document
    return roles


def test_each_addon_role_trusts_exactly_its_own_service_account(each_stack: StackRun):
    roles = irsa_roles(each_stack)
    assert set(roles) == set(EXPECTED), f"IRSA roles in {each_stack.stack}: {sorted(roles)}"
    provider = each_stack.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    host = provider["url"].removeprefix("https://")
    for name, document in roles.items():
        (statement,) = document["Statement"]
        assert statement["Principal"] == {"Federated": provider["arn"]}, name
        assert statement["Condition"] == {
            "StringEquals": {f"{host}:sub": EXPECTED[name], f"{host}:aud": "sts.amazonaws.com"}
        }, f"{name} trusts {statement['Condition']}"


def test_vpc_cni_gets_the_cni_policy_through_its_own_role(each_stack: StackRun):
    attached = {
        (a["role"], a["policyArn"].rsplit("/", 1)[-1])
        for a in each_stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    cni_role = each_stack.one("aws:iam/role:Role", "eks-vpc-cni")
    node_role = each_stack.one("aws:iam/role:Role", "eks-node")
    assert (cni_role.id, "AmazonEKS_CNI_Policy") in attached
    assert not any(role == node_role.id and policy == "AmazonEKS_CNI_Policy" for role, policy in attached)
    addon = each_stack.one("aws:eks/addon:Addon", "eks-vpc-cni")
    assert addon["serviceAccountRoleArn"] == cni_role["arn"]
