"""Which database shards each app process reaches, and how the app learns the shard map.

The app routes every customer's rows to one shard (a consistent-hash ring over the shard
names, `app/store/shards.py`) and keeps the global catalogue, stock and sign-in directory on the
first shard, the home shard, which is on the ring too. So:

- the API reads the catalogue and the directory on the home shard and a customer's orders on
  that customer's shard: every shard;
- the inventory worker runs a saga of two local transactions, stock on the home shard, the
  order's transition on the customer's shard: it writes both, so every shard;
- the payment, notification and fulfillment workers write the customer's shard: every shard;
- the relay drains every shard's outbox; migrate and bootstrap-db prepare every shard;
- the topics job touches no database.

Every shard therefore appears in each database process's policy, and nothing else does: the
policy lists the exact instances (primaries and replicas) of the stack's shards, never a wildcard.
With one shard the policies and the ConfigMap are exactly those of a stack without sharding.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from infra.components.app import iam
from infra.components.app.config import postgres_url
from infra.components.app.processes import Process

Role = Literal["home", "customers"]

ROLES: dict[str, tuple[Role, ...]] = {
    "api": ("home", "customers"),
    "relay": ("home", "customers"),
    "payment": ("customers",),
    "inventory": ("home", "customers"),
    "notification": ("customers",),
    "fulfillment": ("customers",),
    "bootstrap-db": ("home", "customers"),
    "migrate": ("home", "customers"),
}
"""What each database process does on which shards: the home shard's global tables, the
customers' shards (every shard, the home one included, since the ring places customers on all)."""


def shards_used(process: Process, names: Sequence[str]) -> list[str]:
    """The shard names ``process`` connects to, in configured order (the first is home)."""
    if not process.uses_database:
        return []
    if process.name not in ROLES:
        raise ValueError(f"process {process.name} uses the database but has no shard roles: add it to ROLES")
    roles = ROLES[process.name]
    return [name for index, name in enumerate(names) if "customers" in roles or (index == 0 and "home" in roles)]


@dataclass(frozen=True)
class ShardAccess:
    """One shard's IAM-relevant ids, resolved."""

    name: str
    secret_arn: str
    key_arn: str
    instance_ids: tuple[str, ...]
    """DbiResourceIds of the primary and its replicas."""


def access_inputs(shards: Sequence[Any]) -> pulumi.Output[list[Any]]:
    """Per shard: [master secret ARN, key ARN, primary DbiResourceId, *replica DbiResourceIds]."""
    return pulumi.Output.all(
        *[
            pulumi.Output.all(s.master_user_secret_arn, s.key_arn, s.primary_resource_id, *s.replica_resource_ids)
            for s in shards
        ]
    )


def accesses(names: Sequence[str], values: Sequence[Sequence[str]]) -> list[ShardAccess]:
    return [ShardAccess(name, v[0], v[1], tuple(v[2:])) for name, v in zip(names, values, strict=True)]


def endpoint_inputs(shards: Sequence[Any]) -> pulumi.Output[list[Any]]:
    """Per shard: [writer endpoint, [reader endpoints]]."""
    return pulumi.Output.all(
        *[pulumi.Output.all(s.writer_endpoint, pulumi.Output.all(*s.reader_endpoints)) for s in shards]
    )


def shard_environment(
    names: Sequence[str],
    endpoints: Sequence[Sequence[Any]],
    *,
    database: Any,
    joining: Sequence[str] = (),
) -> dict[str, str]:
    """APP_DB_SHARDS (the JSON list `app/store/shards.parse_shards` reads), only with several shards:
    one shard stays configured by APP_DB_WRITER_URL / APP_DB_READER_URLS alone, as before sharding.
    APP_DB_SHARDS_JOINING names the shards kept off the ring while a reshard fills them. Every
    shard has the home shard's login and database name (``database``); only the host differs."""
    db_user, db_name, db_port = database.iam_database_user, database.database_name, database.port
    if len(names) < 2:
        return {}
    extra = {"APP_DB_SHARDS_JOINING": ",".join(joining)} if joining else {}
    shards = [
        {
            "name": name,
            "writer_url": postgres_url(db_user, writer, db_port, db_name),
            "reader_urls": [postgres_url(db_user, r, db_port, db_name) for r in readers],
        }
        for name, (writer, readers) in zip(names, endpoints, strict=True)
    ]
    return {"APP_DB_SHARDS": json.dumps(shards, separators=(",", ":")), **extra}


def master_secrets_environment(names: Sequence[str], secret_arns: Sequence[str]) -> dict[str, str]:
    """The bootstrap job's master secrets: one ARN as before, plus every shard's by name with several."""
    env = {"APP_DB_MASTER_SECRET_ARN": secret_arns[0]}
    if len(names) > 1:
        env["APP_DB_SHARD_MASTER_SECRET_ARNS"] = json.dumps(dict(zip(names, secret_arns, strict=True)))
    return env


def policy_json(
    process: Process, values: Sequence[Any], *, names: Sequence[str], arn_parts: tuple[str, str, str], db_user: str
) -> str:
    """The IRSA policy of ``process``, from the resolved `access_inputs` and the cache and Kafka ARNs."""
    shard_values, group_arn, user_arn, cluster_arn, cluster_name = values
    partition, region, account = arn_parts
    used = set(shards_used(process, names))
    reached = [a for a in accesses(names, shard_values) if a.name in used]
    db_ids = [rid for a in reached for rid in a.instance_ids]
    secrets, keys = [a.secret_arn for a in reached], [a.key_arn for a in reached]
    # One shard: the scalar ARNs of a stack without sharding, so its policies do not change.
    one = len(reached) == 1
    document = iam.process_policy(
        process,
        db_user_arns=iam.rds_db_user_arns(partition, region, account, db_ids, db_user) if db_ids else [],
        cache_arns=(group_arn, user_arn),
        kafka_cluster_arn=cluster_arn,
        kafka_cluster_name=cluster_name,
        master_secret=(secrets[0] if one else secrets, keys[0] if one else keys, region) if reached else None,
    )
    if document is None:
        raise ValueError(f"process {process.name} would get an empty policy")
    return json.dumps(document)
