"""Answers to provider functions (``aws.get_region()`` and friends), from moto."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from infra.offline.registry import client, invoke


@invoke("aws:index/getAvailabilityZones:getAvailabilityZones")
def availability_zones(args: dict[str, Any], region: str) -> dict[str, Any]:
    zones = client("ec2", region).describe_availability_zones()["AvailabilityZones"]
    zones = [z for z in zones if z.get("State", "available") == args.get("state", z.get("State", "available"))]
    return {
        "id": region,
        "names": [z["ZoneName"] for z in zones],
        "zoneIds": [z["ZoneId"] for z in zones],
        "groupNames": [region for _ in zones],
    }


@invoke("aws:index/getCallerIdentity:getCallerIdentity")
def caller_identity(args: dict[str, Any], region: str) -> dict[str, Any]:
    who = client("sts", region).get_caller_identity()
    return {"id": who["Account"], "accountId": who["Account"], "arn": who["Arn"], "userId": who["UserId"]}


@invoke("aws:index/getRegion:getRegion")
def current_region(args: dict[str, Any], region: str) -> dict[str, Any]:
    name = args.get("region") or args.get("name") or region
    return {"id": name, "name": name, "region": name, "endpoint": f"ec2.{name}.amazonaws.com", "description": name}


@invoke("aws:index/getPartition:getPartition")
def partition(args: dict[str, Any], region: str) -> dict[str, Any]:
    return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}


def _statement(s: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.get("sid"):
        out["Sid"] = s["sid"]
    out["Effect"] = s.get("effect", "Allow")
    for key, field in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        if s.get(key):
            out[field] = {p["type"]: _one_or_many(p["identifiers"]) for p in s[key]}
    for key, field in (
        ("actions", "Action"),
        ("notActions", "NotAction"),
        ("resources", "Resource"),
        ("notResources", "NotResource"),
    ):
        if s.get(key):
            out[field] = _one_or_many(s[key])
    if s.get("conditions"):
        condition: dict[str, dict[str, Any]] = {}
        for c in s["conditions"]:
            condition.setdefault(c["test"], {})[c["variable"]] = _one_or_many(c["values"])
        out["Condition"] = condition
    return out


def _one_or_many(values: list[str]) -> str | list[str]:
    """The provider writes a single value as a string and several as a list."""
    return values[0] if len(values) == 1 else sorted(values)


@invoke("aws:iam/getPolicyDocument:getPolicyDocument")
def policy_document(args: dict[str, Any], region: str) -> dict[str, Any]:
    document = {
        "Version": args.get("version", "2012-10-17"),
        "Statement": [_statement(s) for s in args.get("statements", [])],
    }
    text = json.dumps(document, indent=2)
    return {
        "id": hashlib.sha256(text.encode()).hexdigest()[:10],
        "json": text,
        "minifiedJson": json.dumps(document, separators=(",", ":")),
    }


@invoke("aws:ec2/getManagedPrefixList:getManagedPrefixList")
def managed_prefix_list(args: dict[str, Any], region: str) -> dict[str, Any]:
    """AWS-managed prefix lists (the CloudFront origin-facing one), as moto lists them."""
    ec2 = client("ec2", args.get("region") or region)
    if args.get("id"):
        found = ec2.describe_managed_prefix_lists(PrefixListIds=[args["id"]])["PrefixLists"]
    else:
        found = [
            p for p in ec2.describe_managed_prefix_lists()["PrefixLists"] if p["PrefixListName"] == args.get("name")
        ]
    if len(found) != 1:
        raise ValueError(f"getManagedPrefixList: no single prefix list matches {args}")
    p = found[0]
    return {
        "id": p["PrefixListId"],
        "name": p["PrefixListName"],
        "arn": p.get("PrefixListArn", ""),
        "addressFamily": p.get("AddressFamily", "IPv4"),
        "maxEntries": p.get("MaxEntries", 0),
        "ownerId": p.get("OwnerId", "AWS"),
        "version": p.get("Version", 1),
        "entries": [],
        "tags": {},
    }


@invoke("aws:s3/getCanonicalUserId:getCanonicalUserId")
def canonical_user_id(args: dict[str, Any], region: str) -> dict[str, Any]:
    owner = client("s3", region).list_buckets()["Owner"]
    return {"id": owner["ID"], "displayName": owner.get("DisplayName", "")}


@invoke("aws:iam/getRoles:getRoles")
def roles(args: dict[str, Any], region: str) -> dict[str, Any]:
    """The account's roles under ``pathPrefix`` whose name matches ``nameRegex``: empty when none."""
    iam = client("iam", region)
    found = iam.list_roles(PathPrefix=args.get("pathPrefix") or "/")["Roles"]
    pattern = re.compile(args.get("nameRegex") or ".*")
    found = [r for r in found if pattern.search(r["RoleName"])]
    return {"id": region, "arns": sorted(r["Arn"] for r in found), "names": sorted(r["RoleName"] for r in found)}


@invoke("aws:iam/getRole:getRole")
def one_role(args: dict[str, Any], region: str) -> dict[str, Any]:
    """One role by name; fails, as the provider does, when it does not exist."""
    r = client("iam", region).get_role(RoleName=args["name"])["Role"]
    return {
        "id": r["RoleName"],
        "name": r["RoleName"],
        "arn": r["Arn"],
        "path": r["Path"],
        "uniqueId": r["RoleId"],
        "assumeRolePolicy": json.dumps(r.get("AssumeRolePolicyDocument") or {}),
        "description": r.get("Description", ""),
        "tags": {t["Key"]: t["Value"] for t in r.get("Tags") or []},
    }
