"""Route 53 records, emulated in moto.

The hosted zone belongs outside the stack (the stack is given its id); offline, a stand-in zone
named for the record's registrable domain is created in moto the first time the id is used, keyed
by that id through the zone's caller reference.
"""

from __future__ import annotations

from typing import Any

from infra.offline.registry import Created, Ctx, translator


def _zone(route53: Any, external_id: str, record_name: str) -> str:
    for zone in route53.list_hosted_zones()["HostedZones"]:
        if zone["CallerReference"] == external_id:
            return str(zone["Id"]).rsplit("/", 1)[-1]
    apex = ".".join(record_name.rstrip(".").split(".")[-2:])
    zone = route53.create_hosted_zone(Name=apex, CallerReference=external_id)["HostedZone"]
    return str(zone["Id"]).rsplit("/", 1)[-1]


@translator("aws:route53/record:Record")
def record(ctx: Ctx) -> Created:
    route53 = ctx.client("route53")
    i = ctx.inputs
    name = str(i["name"]).rstrip(".")
    zone_id = _zone(route53, i["zoneId"], name)
    record_set: dict[str, Any] = {"Name": name, "Type": i["type"]}
    if i.get("aliases"):
        alias = i["aliases"][0]
        record_set["AliasTarget"] = {
            "HostedZoneId": alias["zoneId"],
            "DNSName": alias["name"],
            "EvaluateTargetHealth": bool(alias.get("evaluateTargetHealth")),
        }
    else:
        record_set["TTL"] = int(i.get("ttl", 300))
        record_set["ResourceRecords"] = [{"Value": v} for v in i["records"]]
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [{"Action": "UPSERT" if i.get("allowOverwrite") else "CREATE", "ResourceRecordSet": record_set}]
        },
    )
    return Created(f"{i['zoneId']}_{name}_{i['type']}", {"fqdn": name, "name": name})
