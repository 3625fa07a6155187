"""bootstrap-db on a database as fresh RDS leaves it: only the master user and an rds_iam role.

The master credentials are read from Secrets Manager (moto, in process); the database is
the real local PostgreSQL. Locally the app logs in without a token (trust auth), so what is
proven is the role, its membership and its grants, not IAM token validation.
"""

import asyncio
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select

from app.api.schemas import OrderRequest
from app.core.settings import Settings
from app.store import bootstrap, orders
from app.store.db import Database
from app.store.migrate import upgrade
from app.store.tables import orders as orders_table
from tests.app.conftest import PG_ADMIN_DSN

# A throwaway login on a throwaway local database, made up per run.
MASTER_PASSWORD = secrets.token_hex(12)

REGION = "eu-west-1"


@dataclass(frozen=True)
class FreshInstance:
    database: str
    master: str
    app_user: str
    secret_arn: str

    def settings(self, **extra: object) -> Settings:
        url = f"postgresql+asyncpg://{self.app_user}@127.0.0.1:5432/{self.database}"
        return Settings(db_writer_url=url, db_ssl="disable", aws_region=REGION, **extra)  # type: ignore[arg-type]


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def fresh_instance() -> Iterator[FreshInstance]:
    """A database owned by a non-superuser master (CREATEROLE, as RDS's is), rds_iam as NOLOGIN."""
    suffix = uuid.uuid4().hex[:8]
    instance = FreshInstance(f"boot_{suffix}", f"master_{suffix}", f"app_{suffix}", "")
    asyncio.run(
        _admin(
            # Roles are cluster-wide: rds_iam is shared (created once, never dropped), the others unique.
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') "
            "THEN CREATE ROLE rds_iam NOLOGIN; END IF; END $$",
            f"CREATE ROLE {instance.master} LOGIN CREATEROLE PASSWORD '{MASTER_PASSWORD}'",
            f"GRANT rds_iam TO {instance.master} WITH ADMIN OPTION",
            f"CREATE DATABASE {instance.database} OWNER {instance.master}",
        )
    )
    with mock_aws():
        arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=f"master-{suffix}", SecretString=json.dumps({"username": instance.master, "password": MASTER_PASSWORD})
        )["ARN"]
        try:
            yield FreshInstance(instance.database, instance.master, instance.app_user, arn)
        finally:
            asyncio.run(
                _admin(
                    f"DROP DATABASE IF EXISTS {instance.database} WITH (FORCE)",
                    f"DROP ROLE IF EXISTS {instance.app_user}",
                    f"DROP ROLE IF EXISTS {instance.master}",
                )
            )


async def _place_one(settings: Settings) -> uuid.UUID:
    database = Database(settings)
    try:
        request = OrderRequest.model_validate(
            {"customer_id": "cust-0001", "currency": "EUR", "items": [{"sku": "SKU-0001", "quantity": 1}]}
        )
        async with database.write() as conn:
            placed = await orders.place(conn, request, topic="orders", idempotency_key=None)
        async with database.read(primary=True) as conn:
            owner = (await conn.execute(select(orders_table.c.id).where(orders_table.c.id == placed.order_id))).scalar()
        assert owner == placed.order_id
        return placed.order_id
    finally:
        await database.dispose()


async def _role(name: str) -> asyncpg.Record:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return await conn.fetchrow(
            "SELECT rolcanlogin, pg_has_role($1, 'rds_iam', 'MEMBER') AS iam FROM pg_roles WHERE rolname = $1", name
        )
    finally:
        await conn.close()


def test_without_bootstrap_the_app_user_cannot_log_in(fresh_instance: FreshInstance) -> None:
    with pytest.raises(Exception, match=f'role "{fresh_instance.app_user}" does not exist'):
        upgrade(fresh_instance.settings())


def test_bootstrap_twice_then_migrate_and_place_an_order_as_the_app_user(fresh_instance: FreshInstance) -> None:
    settings = fresh_instance.settings(db_master_secret_arn=fresh_instance.secret_arn)
    for _ in range(2):  # a re-run (every release runs the job) changes nothing and does not fail
        assert asyncio.run(bootstrap.bootstrap(settings)) == fresh_instance.app_user
    role = asyncio.run(_role(fresh_instance.app_user))
    assert role["rolcanlogin"] is True and role["iam"] is True

    upgrade(fresh_instance.settings())  # as the app user: it owns what it creates
    assert asyncio.run(_place_one(fresh_instance.settings()))


def test_bootstrap_without_the_secret_arn_names_the_variable(fresh_instance: FreshInstance) -> None:
    with pytest.raises(ValueError, match="APP_DB_MASTER_SECRET_ARN is required by bootstrap-db"):
        asyncio.run(bootstrap.bootstrap(fresh_instance.settings()))


@pytest.mark.parametrize("user", ["App", "app;drop", "a-b"])
def test_bootstrap_refuses_a_user_name_it_would_have_to_quote(user: str) -> None:
    with pytest.raises(ValueError, match="not a plain lowercase PostgreSQL identifier"):
        bootstrap.statements(user, "orders")


def test_with_several_shards_the_login_is_created_on_each_with_its_own_master_secret(monkeypatch) -> None:
    shards = [{"name": f"s{n}", "writer_url": f"postgresql+asyncpg://app@h{n}:5432/app"} for n in range(3)]
    monkeypatch.setenv("APP_DB_SHARDS", json.dumps(shards))
    monkeypatch.setenv("APP_DB_SHARD_MASTER_SECRET_ARNS", json.dumps({f"s{n}": f"arn:secret:{n}" for n in range(3)}))
    seen: list[tuple[str, str | None]] = []

    async def fake(settings: Settings) -> str:
        seen.append((settings.db_writer_url, settings.db_master_secret_arn))
        if settings.db_writer_url.startswith("postgresql+asyncpg://app@h2"):
            raise OSError("connection refused")
        return "app"

    monkeypatch.setattr(bootstrap, "bootstrap", fake)
    with pytest.raises(RuntimeError, match="bootstrap-db failed on shard s2: connection refused"):
        asyncio.run(bootstrap.bootstrap_all(Settings(db_writer_url=shards[0]["writer_url"])))
    assert seen == [(s["writer_url"], f"arn:secret:{n}") for n, s in enumerate(shards)]


def test_a_shard_without_a_master_secret_is_named(monkeypatch) -> None:
    shards = [{"name": "s0", "writer_url": "postgresql+asyncpg://app@h0/app"}, {"name": "s1", "writer_url": "x"}]
    monkeypatch.setenv("APP_DB_SHARDS", json.dumps(shards))
    monkeypatch.setenv("APP_DB_SHARD_MASTER_SECRET_ARNS", json.dumps({"s0": "arn:0"}))
    with pytest.raises(ValueError, match=r"no master secret for shards \['s1'\]"):
        bootstrap.per_shard(Settings(db_writer_url="postgresql+asyncpg://app@h0/app"))
