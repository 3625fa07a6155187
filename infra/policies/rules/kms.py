"""KMS rules: yearly rotation of symmetric customer-managed keys; service-linked roles as principals."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from infra.policies.rules._rule import BASELINE, Control, Problems, get, is_list, is_map, resource_rule

KEY = "aws:kms/key:Key"
SERVICE_LINKED = ":role/aws-service-role/"


def _listed(value: Any) -> list[Any]:
    return list(value) if is_list(value) else [value]


def service_linked_principal_problems(props: Mapping[str, Any]) -> Problems:
    """A statement for the account root that names a service-linked role only by aws:PrincipalArn.

    The account root only delegates to IAM policies, and a service-linked role's AWS-managed
    policy grants nothing on customer managed keys: the service is denied (EC2 Auto Scaling
    then never launches instances whose volumes the key encrypts).
    """
    text = get(props, "policy")
    if not isinstance(text, str) or not text:
        return []
    problems = []
    for s in _listed(json.loads(text).get("Statement") or []):
        principal = s.get("Principal")
        aws = _listed(principal.get("AWS", [])) if is_map(principal) else []
        if not any(str(p).endswith(":root") for p in aws):
            continue
        for operator in (s.get("Condition") or {}).values():
            for key, values in operator.items():
                roles = [str(v) for v in _listed(values) if SERVICE_LINKED in str(v)]
                if key.lower() == "aws:principalarn" and roles:
                    problems.append(
                        f"statement {s.get('Sid', '<no Sid>')!r} names the service-linked role {', '.join(roles)} "
                        "through aws:PrincipalArn on the account root, which only delegates to IAM policies"
                    )
    return problems


def rotation_problems(props: Mapping[str, Any]) -> Problems:
    spec = get(props, "customerMasterKeySpec", default="SYMMETRIC_DEFAULT")
    if spec != "SYMMETRIC_DEFAULT" or get(props, "keyUsage", default="ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        return []  # KMS cannot rotate asymmetric or HMAC keys automatically
    return [] if get(props, "enableKeyRotation", default=False) else ["automatic key rotation is off"]


POLICIES = [
    resource_rule(
        "kms-4-key-rotation-enabled",
        Control("KMS.4", "AWS KMS key rotation should be enabled"),
        [KEY],
        rotation_problems,
        "set enable_key_rotation=True on the aws.kms.Key (infra.components.kms.encryption_key does)",
        why="Applies to symmetric encryption keys, the only kind KMS rotates automatically.",
    ),
    resource_rule(
        "wskms-1-service-linked-role-is-principal",
        Control("WSKMS.1", "A key used by a service through its service-linked role names that role", BASELINE),
        [KEY],
        service_linked_principal_problems,
        "name the service-linked role's ARN as the statement's Principal (AWS's key policy for EBS encryption "
        "with Auto Scaling does), and create the key after the role (infra.components.eks.autoscaling_role)",
        why="A service-linked role's managed policy grants nothing on customer managed keys; only the key "
        "policy can, and only by naming the role.",
    ),
]
