"""Answers to provider functions (``aws.get_region()`` and friends), from moto."""

from __future__ import annotations

from typing import Any

import boto3

from infra.offline.registry import invoke


@invoke("aws:index/getAvailabilityZones:getAvailabilityZones")
def availability_zones(args: dict[str, Any], region: str) -> dict[str, Any]:
    zones = boto3.client("ec2", region_name=region).describe_availability_zones()["AvailabilityZones"]
    zones = [z for z in zones if z.get("State", "available") == args.get("state", z.get("State", "available"))]
    return {
        "id": region,
        "names": [z["ZoneName"] for z in zones],
        "zoneIds": [z["ZoneId"] for z in zones],
        "groupNames": [region for _ in zones],
    }


@invoke("aws:index/getCallerIdentity:getCallerIdentity")
def caller_identity(args: dict[str, Any], region: str) -> dict[str, Any]:
    who = boto3.client("sts", region_name=region).get_caller_identity()
    return {"id": who["Account"], "accountId": who["Account"], "arn": who["Arn"], "userId": who["UserId"]}


@invoke("aws:index/getRegion:getRegion")
def current_region(args: dict[str, Any], region: str) -> dict[str, Any]:
    name = args.get("region") or args.get("name") or region
    return {"id": name, "name": name, "region": name, "endpoint": f"ec2.{name}.amazonaws.com", "description": name}


@invoke("aws:index/getPartition:getPartition")
def partition(args: dict[str, Any], region: str) -> dict[str, Any]:
    return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}
