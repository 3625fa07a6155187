"""KMS keys and aliases, and CloudWatch log groups, emulated in moto.

moto stores a key policy without judging it; KMS does judge it. Two of its rules are
applied here: every IAM principal a key policy names must already exist (KMS answers
MalformedPolicyDocumentException otherwise), and a service-linked role is named as a
principal, never through ``aws:PrincipalArn`` on the account root (which only delegates
to IAM policies, and a service-linked role's AWS-managed policy grants nothing on customer
managed keys: the service would be denied at run time, with no error at deploy).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from infra.offline.registry import Created, Ctx, translator

SERVICE_LINKED = ":role/aws-service-role/"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def service_linked_role_by_condition(policy: dict[str, Any]) -> list[str]:
    """The statements that name a service-linked role only through an aws:PrincipalArn condition."""
    found = []
    for s in _listed(policy.get("Statement") or []):
        principals = _listed((s.get("Principal") or {}).get("AWS", []) if isinstance(s.get("Principal"), dict) else [])
        if not any(str(p).endswith(":root") for p in principals):
            continue
        for operator in (s.get("Condition") or {}).values():
            for key, values in operator.items():
                if key.lower() == "aws:principalarn" and any(SERVICE_LINKED in str(v) for v in _listed(values)):
                    found.append(f"statement {s.get('Sid', '<no Sid>')!r} ({', '.join(map(str, _listed(values)))})")
    return found


def missing_principals(ctx: Ctx, policy: dict[str, Any]) -> list[str]:
    """IAM roles of this account named as principals that do not exist (yet)."""
    iam = ctx.client("iam")
    missing = []
    for s in _listed(policy.get("Statement") or []):
        principal = s.get("Principal")
        arns = _listed(principal.get("AWS", [])) if isinstance(principal, dict) else []
        for arn in arns:
            if f":iam::{ctx.account_id}:role/" not in str(arn):
                continue
            try:
                iam.get_role(RoleName=str(arn).rsplit("/", 1)[-1])
            except ClientError:
                missing.append(str(arn))
    return sorted(set(missing))


def check_key_policy(ctx: Ctx, text: str) -> None:
    policy = json.loads(text)
    by_condition = service_linked_role_by_condition(policy)
    if by_condition:
        raise ValueError(
            f"its key policy names a service-linked role only through aws:PrincipalArn on the account root: "
            f"{'; '.join(by_condition)}. The account root only delegates to IAM policies and a service-linked "
            "role's AWS-managed policy grants nothing on customer managed keys, so the service is denied. "
            "Fix: name the role's ARN as the statement's Principal, and create the key after the role"
        )
    missing = missing_principals(ctx, policy)
    if missing:
        raise ValueError(
            f"its key policy names principals that do not exist yet: {', '.join(missing)}. KMS rejects the "
            "policy (MalformedPolicyDocumentException). Fix: create the role first (a service-linked role with "
            "aws.iam.ServiceLinkedRole) and make the key depend on it"
        )


@translator("aws:kms/key:Key")
def key(ctx: Ctx) -> Created:
    kms = ctx.client("kms")
    kwargs: dict[str, object] = {
        "Description": ctx.inputs.get("description", ""),
        "KeyUsage": ctx.inputs.get("keyUsage", "ENCRYPT_DECRYPT"),
        "KeySpec": ctx.inputs.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT"),
        "Tags": [{"TagKey": k, "TagValue": v} for k, v in sorted(ctx.tags.items())],
    }
    if ctx.inputs.get("policy"):
        check_key_policy(ctx, ctx.inputs["policy"])
        kwargs["Policy"] = ctx.inputs["policy"]
    meta = kms.create_key(**kwargs)["KeyMetadata"]
    if ctx.inputs.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    rotation = kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"]
    return Created(meta["KeyId"], {"arn": meta["Arn"], "keyId": meta["KeyId"], "enableKeyRotation": rotation})


@translator("aws:kms/alias:Alias")
def alias(ctx: Ctx) -> Created:
    kms = ctx.client("kms")
    name = ctx.inputs["name"]
    kms.create_alias(AliasName=name, TargetKeyId=ctx.inputs["targetKeyId"])
    target = kms.describe_key(KeyId=ctx.inputs["targetKeyId"])["KeyMetadata"]["Arn"]
    return Created(name, {"arn": ctx.arn("kms", name), "targetKeyArn": target})


@translator("aws:cloudwatch/logGroup:LogGroup")
def log_group(ctx: Ctx) -> Created:
    logs = ctx.client("logs")
    name = ctx.physical_name(max_len=512)
    kwargs: dict[str, object] = {"logGroupName": name, "tags": ctx.tags}
    if ctx.inputs.get("kmsKeyId"):
        kwargs["kmsKeyId"] = ctx.inputs["kmsKeyId"]
    logs.create_log_group(**kwargs)
    if ctx.inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(ctx.inputs["retentionInDays"]))
    return Created(name, {"arn": ctx.arn("logs", f"log-group:{name}"), "name": name})
