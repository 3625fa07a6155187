"""IAM roles for service accounts (IRSA): one IAM role per Kubernetes service account.

A pod whose service account is annotated ``eks.amazonaws.com/role-arn`` gets a projected
token signed by the cluster's OIDC issuer; STS exchanges it for this role's credentials only
if the token's ``sub`` names exactly that service account and its ``aud`` is STS.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

STS_AUDIENCE = "sts.amazonaws.com"


def subject(namespace: str, service_account: str) -> str:
    """The ``sub`` claim of a service account's token: ``system:serviceaccount:<ns>:<sa>``."""
    if not namespace or not service_account or "*" in namespace + service_account:
        raise ValueError(f"a role trusts exactly one service account, not {namespace!r}/{service_account!r}")
    return f"system:serviceaccount:{namespace}:{service_account}"


def trust_policy(oidc_provider_arn: str, issuer: str, namespace: str, service_account: str) -> dict[str, Any]:
    """Allow ``AssumeRoleWithWebIdentity`` for one service account's tokens, and nothing else.

    ``issuer`` is the OIDC issuer host and path (``oidc.eks.<region>.amazonaws.com/id/<ID>``);
    a leading ``https://`` is removed, since IAM condition keys do not carry it.
    """
    host = issuer.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{host}:sub": subject(namespace, service_account),
                        f"{host}:aud": STS_AUDIENCE,
                    }
                },
            }
        ],
    }


def service_account_role(
    name: str,
    *,
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
    namespace: str,
    service_account: str,
    policy_documents: Sequence[pulumi.Input[str]] | None = None,
    managed_policy_arns: Sequence[str] = (),
    opts: pulumi.ResourceOptions | None = None,
) -> aws.iam.Role:
    """An IAM role that exactly one service account (``namespace``/``service_account``) can assume.

    ``policy_documents`` (JSON strings) become inline policies of the role;
    ``managed_policy_arns`` are attached. Pass ``opts`` with a ``parent`` so the role
    inherits the stack's AWS provider. ``EksCluster.service_account_role`` fills in the
    OIDC provider.
    """
    subject(namespace, service_account)  # fail early, before any resource exists
    role = aws.iam.Role(
        name,
        description=f"IRSA role of service account {namespace}/{service_account}",
        assume_role_policy=pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
            lambda args: json.dumps(trust_policy(args[0], args[1], namespace, service_account))
        ),
        opts=opts,
    )
    child = pulumi.ResourceOptions(parent=role)
    for i, document in enumerate(policy_documents or []):
        aws.iam.RolePolicy(f"{name}-{i}", role=role.id, policy=document, opts=child)
    for arn in managed_policy_arns:
        aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=child)
    return role
