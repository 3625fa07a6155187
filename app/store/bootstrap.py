"""`python -m app bootstrap-db`: create the app's database login, as the master user, idempotently.

A new RDS instance has only its master user. Every process logs in as the user named in
``APP_DB_WRITER_URL`` (``app``) with an IAM token, which PostgreSQL accepts only for a role
that can log in and is a member of ``rds_iam``. Nothing else creates that role, so this job
runs before ``migrate`` on every release (each statement is a no-op the second time).

Grants: ``app`` may connect and may create in schema ``public``. ``migrate`` runs as ``app``,
so ``app`` owns the tables it creates and needs no further grants on them. PostgreSQL 15
removed CREATE on ``public`` from PUBLIC, which is why this job grants it.

The master credentials come from Secrets Manager (``APP_DB_MASTER_SECRET_ARN``: the JSON
``{"username", "password"}`` RDS or the stack keeps), read with this job's own IRSA role,
which may read that one secret and nothing else. With several shards (``APP_DB_SHARDS``) every
shard has its own master secret (``APP_DB_SHARD_MASTER_SECRET_ARNS``, a JSON object by shard
name), and the login is created on each shard in turn; a failure names the shard.
"""

import asyncio
import json
import logging
import os
import re
from dataclasses import dataclass

import asyncpg
import boto3
from sqlalchemy.engine import make_url

from app.core.settings import Settings
from app.store.db import connect_args

log = logging.getLogger(__name__)

IAM_ROLE = "rds_iam"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Master:
    username: str
    password: str


def master_credentials(settings: Settings) -> Master:
    if not settings.db_master_secret_arn:
        raise ValueError("APP_DB_MASTER_SECRET_ARN is required by bootstrap-db")
    client = boto3.client("secretsmanager", region_name=settings.aws_region)
    secret = json.loads(client.get_secret_value(SecretId=settings.db_master_secret_arn)["SecretString"])
    return Master(username=secret["username"], password=secret["password"])


def statements(user: str, database: str) -> list[str]:
    """What makes ``user`` an IAM login with the rights ``migrate`` needs; safe to run again."""
    for name, value in (("database user", user), ("database", database)):
        if not _IDENTIFIER.fullmatch(value):
            raise ValueError(f"{name} {value!r} is not a plain lowercase PostgreSQL identifier")
    return [
        # CREATE ROLE has no IF NOT EXISTS; a DO block makes it idempotent.
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') "
        f'THEN CREATE ROLE "{user}" LOGIN; END IF; END $$',
        f'ALTER ROLE "{user}" LOGIN',
        f'GRANT "{IAM_ROLE}" TO "{user}"',
        f'GRANT CONNECT ON DATABASE "{database}" TO "{user}"',
        f'GRANT USAGE, CREATE ON SCHEMA public TO "{user}"',
    ]


async def bootstrap(settings: Settings) -> str:
    """Create or confirm the login of ``APP_DB_WRITER_URL``'s user; returns its name."""
    url = make_url(settings.db_writer_url)
    if not url.username or not url.database:
        raise ValueError("APP_DB_WRITER_URL must name the app's user and database")
    master = master_credentials(settings)
    conn = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=master.username,
        password=master.password,
        database=url.database,
        # The master logs in with a password, but RDS forces TLS: keep the IAM mode's TLS floor.
        ssl=connect_args(settings)["ssl"],
        timeout=settings.db_connect_timeout_seconds,
    )
    try:
        async with conn.transaction():
            for statement in statements(url.username, url.database):
                await conn.execute(statement)
    finally:
        await conn.close()
    log.info("database login %s is ready (member of %s)", url.username, IAM_ROLE)
    return url.username


def per_shard(settings: Settings) -> list[tuple[str, Settings]]:
    """(shard name, settings aimed at its writer with its master secret), or just ``settings``."""
    raw, secrets = os.environ.get("APP_DB_SHARDS"), os.environ.get("APP_DB_SHARD_MASTER_SECRET_ARNS")
    if not raw:
        return [("", settings)]
    from app.store.shards import parse_shards

    arns = json.loads(secrets) if secrets else {}
    missing = [shard.name for shard in parse_shards(raw) if shard.name not in arns]
    if missing:
        raise ValueError(f"APP_DB_SHARD_MASTER_SECRET_ARNS has no master secret for shards {missing}")
    return [
        (
            shard.name,
            settings.model_copy(update={"db_writer_url": shard.writer_url, "db_master_secret_arn": arns[shard.name]}),
        )
        for shard in parse_shards(raw)
    ]


async def bootstrap_all(settings: Settings) -> list[str]:
    done = []
    for name, shard_settings in per_shard(settings):
        try:
            done.append(await bootstrap(shard_settings))
        except Exception as error:
            if not name:
                raise
            raise RuntimeError(f"bootstrap-db failed on shard {name}: {error}") from error
    return done


def main(settings: Settings) -> None:
    asyncio.run(bootstrap_all(settings))
