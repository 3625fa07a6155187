"""Fixtures: a real Apache Kafka broker (KRaft, one node, on disk), a throwaway PostgreSQL database (plus a 'replica' database),
and a flushed Redis logical database. Everything binds to 127.0.0.1 and is torn down at the end."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg
import pytest
import pytest_asyncio
import redis
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, update

from app.api.main import create_app
from app.core.settings import Settings
from app.dev.localbroker import LocalBroker
from app.pipeline import topics
from app.pipeline.kafka import make_producer
from app.store.cache import Cache, make_redis
from app.store.db import Database
from app.store.migrate import upgrade
from app.store.tables import outbox
from tests.app.helpers import CUSTOMER, auth, local_issuer
from tests.app.sharding import local_databases

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = "postgres@127.0.0.1:5432"


def _redis_db() -> int:
    """``TEST_REDIS_DB`` (default 12) is the Redis logical database the tests flush; under
    pytest-xdist, worker ``gwN`` takes ``TEST_REDIS_DB + N``, so workers never flush each other."""
    base = int(os.environ.get("TEST_REDIS_DB", "12"))
    db = base + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    if not 0 <= db <= 15:
        raise pytest.UsageError(f"TEST_REDIS_DB={base} leaves worker databases past Redis's 0..15: choose a lower one")
    return db


REDIS_DB = _redis_db()
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    running = LocalBroker()
    running.start()
    yield running
    running.close()


@dataclass(frozen=True)
class Databases:
    writer_url: str
    reader_url: str
    """A second, separately migrated database standing in for a replica: different contents
    tell which one a read went to."""


async def _link_seeded_customers(url: str) -> None:
    """Seeded customers get a subject equal to their id, so a test token for "cust-0002" is cust-0002."""
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.execute("UPDATE users SET subject = id WHERE id LIKE 'cust-%'")
    finally:
        await conn.close()


@contextmanager
def _migrated(names: list[str]) -> Iterator[list[str]]:
    """Throwaway databases, migrated, with the seeded customers signed in as themselves."""
    with local_databases(names, PG_ADMIN_DSN) as urls:
        for url in urls:
            upgrade(Settings(db_writer_url=url, db_ssl="disable"))
            asyncio.run(_link_seeded_customers(url))
        yield urls


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    base = f"app_test_{uuid.uuid4().hex[:10]}"
    with _migrated([base, f"{base}_replica"]) as urls:
        yield Databases(writer_url=urls[0], reader_url=urls[1])


@pytest.fixture
def settings(databases: Databases, broker: LocalBroker) -> Settings:
    """Per-test topic names and consumer groups, so tests never read each other's events."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        db_writer_url=databases.writer_url,
        db_ssl="disable",
        db_pool_size=20,
        redis_url=REDIS_URL,
        kafka_bootstrap_servers=broker.bootstrap,
        kafka_request_timeout_ms=3000,
        topic_orders=f"orders-{suffix}",
        topic_payments=f"payments-{suffix}",
        topic_inventory=f"inventory-{suffix}",
        topic_shipments=f"shipments-{suffix}",
        topic_partitions=3,
        topic_replication_factor=1,
        topic_min_insync_replicas=1,
        consumer_group_prefix=f"test-{suffix}-",
        consumer_max_attempts=3,
        consumer_backoff_base_ms=10,
        consumer_backoff_max_ms=50,
        payment_latency_ms=0,
        payment_failure_rate=0.0,
        relay_poll_interval_ms=20,
        relay_delivery_timeout_ms=5000,
        auth_issuer=local_issuer().issuer,
        auth_client_id=local_issuer().client_id,
        auth_local_dev=True,
    )


@pytest_asyncio.fixture
async def kafka_topics(settings: Settings) -> list[str]:
    return await topics.ensure(settings)


@pytest_asyncio.fixture
async def producer(settings: Settings, kafka_topics: list[str]) -> AsyncIterator[AIOKafkaProducer]:
    started = make_producer(settings)
    await started.start()
    yield started
    await started.stop()


@pytest_asyncio.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The shared test database, with earlier tests' unpublished events out of the way, so a
    relay in this test only ever sees this test's events (whose topics exist)."""
    db = Database(settings)
    async with db.write() as conn:
        await conn.execute(update(outbox).where(outbox.c.published_at.is_(None)).values(published_at=func.now()))
    yield db
    await db.dispose()


@pytest_asyncio.fixture
async def cache(settings: Settings) -> AsyncIterator[Cache]:
    client = make_redis(settings)
    yield Cache(settings, client)
    await client.aclose()


async def api_client(app: FastAPI, customer: str | None = CUSTOMER) -> AsyncIterator[AsyncClient]:
    """A client of ``app``, signed in as ``customer`` (None: no Authorization header)."""
    headers = auth(customer) if customer else {}
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
            yield client


@pytest_asyncio.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncClient]:
    async for c in api_client(create_app(settings)):
        yield c


@pytest.fixture(scope="session")
def shard_urls() -> Iterator[list[str]]:
    """Three more throwaway databases, migrated like any shard, for the sharded tests (each test
    takes the first two or all three as its shards s0, s1, s2)."""
    base = f"app_shard_{uuid.uuid4().hex[:10]}"
    with _migrated([f"{base}_{index}" for index in range(3)]) as urls:
        yield urls
