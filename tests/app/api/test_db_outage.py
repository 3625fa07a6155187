"""The API through a PostgreSQL restart or outage: 503 with Retry-After, retries, no doubled order.

Runs against a PostgreSQL server of its own (app/dev/localpg.py): restarting the shared one
would break everyone else's tests.
"""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import pytest_asyncio
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.api.main import create_app
from app.api.schemas import LineItem, OrderRequest
from app.core.settings import Settings
from app.dev.localpg import LocalPostgres
from app.store import orders
from app.store.db import Database
from app.store.migrate import upgrade
from app.store.retry import is_unavailable
from app.store.tables import orders as orders_table
from tests.app.conftest import REDIS_URL, api_client
from tests.app.helpers import CUSTOMER, local_issuer, order_body

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def own_pg() -> Iterator[LocalPostgres]:
    with LocalPostgres() as server:

        async def create() -> None:
            conn = await asyncpg.connect(server.admin_dsn)
            await conn.execute("CREATE DATABASE orders")
            await conn.close()

        asyncio.run(create())
        upgrade(Settings(db_writer_url=server.url("orders"), db_ssl="disable"))

        async def link_subjects() -> None:
            # As in the shared test databases: a token for "cust-0001" signs in as cust-0001.
            conn = await asyncpg.connect(server.url("orders").replace("+asyncpg", ""))
            await conn.execute("UPDATE users SET subject = id WHERE id LIKE 'cust-%'")
            await conn.close()

        asyncio.run(link_subjects())
        yield server


@pytest.fixture
def outage_settings(own_pg: LocalPostgres) -> Settings:
    return Settings(
        db_writer_url=own_pg.url("orders"),
        db_ssl="disable",
        db_pool_size=8,
        redis_url=REDIS_URL,
        db_retry_backoff_ms=300,
        auth_issuer=local_issuer().issuer,
        auth_client_id=local_issuer().client_id,
        auth_local_dev=True,
    )


@pytest_asyncio.fixture
async def client(outage_settings: Settings) -> AsyncIterator[AsyncClient]:
    async for started in api_client(create_app(outage_settings)):
        yield started


async def _orders_with_key(settings: Settings, key: str) -> int:
    database = Database(settings)
    try:
        async with database.read(primary=True) as conn:
            query = select(func.count()).select_from(orders_table).where(orders_table.c.idempotency_key == key)
            return int((await conn.execute(query)).scalar_one())
    finally:
        await database.dispose()


async def test_postgres_restart_during_writes_gives_no_500(client: AsyncClient, own_pg: LocalPostgres) -> None:
    codes: Counter[int] = Counter()
    retry_after: set[str | None] = set()
    sent = 0

    async def writer() -> None:
        nonlocal sent
        while sent < 400:
            sent += 1
            response = await client.post(
                "/api/orders", json=order_body(), headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            codes[response.status_code] += 1
            if response.status_code == 503:
                retry_after.add(response.headers.get("retry-after"))

    async def restart() -> None:
        while sent < 100:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(own_pg.restart)

    await asyncio.gather(restart(), *(writer() for _ in range(16)))
    assert codes[500] == 0, f"500s during a restart: {dict(codes)}"
    assert set(codes) <= {202, 503}, dict(codes)
    assert retry_after <= {"2"}, f"503 without Retry-After: {retry_after}"
    assert codes[202] >= 380, f"a restart cost more than the requests in flight: {dict(codes)}"


async def test_database_down_answers_503_with_retry_after_and_json(client: AsyncClient, own_pg: LocalPostgres) -> None:
    await asyncio.to_thread(own_pg.stop)
    try:
        response = await client.post("/api/orders", json=order_body())
    finally:
        await asyncio.to_thread(own_pg.start)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["detail"][0]["type"] == "database_unavailable"


async def test_post_retried_with_same_key_after_outage_creates_one_order(
    client: AsyncClient, own_pg: LocalPostgres, outage_settings: Settings
) -> None:
    key = uuid.uuid4().hex
    await asyncio.to_thread(own_pg.stop)
    try:
        failed = await client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})
    finally:
        await asyncio.to_thread(own_pg.start)
    first = await client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})
    again = await client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})
    assert failed.status_code == 503
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert await _orders_with_key(outage_settings, key) == 1


async def _kill_own_session_before_commit(conn: AsyncConnection, admin_dsn: str) -> None:
    """Terminate this transaction's backend and wait until asyncpg has seen the socket close,
    so the COMMIT that follows fails with the outcome unknown to the client."""
    pid = (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    for _ in range(100):
        if driver.is_closed():
            return
        await asyncio.sleep(0.01)


async def test_write_broken_at_commit_with_key_is_retried_into_one_order(
    outage_settings: Settings, own_pg: LocalPostgres
) -> None:
    key = uuid.uuid4().hex
    request = OrderRequest(customer_id=CUSTOMER, currency="EUR", items=[LineItem(sku="SKU-0001", quantity=1)])
    tries = 0

    async def place(conn: AsyncConnection) -> orders.Placed:
        nonlocal tries
        tries += 1
        placed = await orders.place(conn, request, topic="orders", idempotency_key=key)
        if tries == 1:
            await _kill_own_session_before_commit(conn, own_pg.admin_dsn)
        return placed

    database = Database(outage_settings)
    try:
        await database.transact(place, idempotent=True)
    finally:
        await database.dispose()
    assert tries == 2
    assert await _orders_with_key(outage_settings, key) == 1


async def test_write_broken_at_commit_without_key_is_not_retried(
    outage_settings: Settings, own_pg: LocalPostgres
) -> None:
    request = OrderRequest(customer_id=CUSTOMER, currency="EUR", items=[LineItem(sku="SKU-0001", quantity=1)])
    tries = 0

    async def place(conn: AsyncConnection) -> orders.Placed:
        nonlocal tries
        tries += 1
        placed = await orders.place(conn, request, topic="orders", idempotency_key=None)
        await _kill_own_session_before_commit(conn, own_pg.admin_dsn)
        return placed

    database = Database(outage_settings)
    try:
        with pytest.raises(Exception) as raised:
            await database.transact(place)
    finally:
        await database.dispose()
    assert tries == 1, "a COMMIT with an unknown outcome was retried without an idempotency key"
    assert is_unavailable(raised.value), f"not classified as the database being unavailable: {raised.value!r}"


@pytest.fixture(scope="module")
def own_replica(own_pg: LocalPostgres) -> Iterator[LocalPostgres]:
    replica = own_pg.replica()
    yield replica
    replica.close()


async def test_read_whose_replica_connection_breaks_mid_query_is_answered_by_the_writer(
    outage_settings: Settings, own_replica: LocalPostgres
) -> None:
    settings = outage_settings.model_copy(update={"db_reader_urls": [own_replica.url("orders")]})
    database = Database(settings)
    calls = 0

    async def slow_read(conn: AsyncConnection) -> bool:
        nonlocal calls
        calls += 1
        return bool((await conn.exec_driver_sql("SELECT pg_sleep(0.5), pg_is_in_recovery()")).one()[1])

    async def terminate_replica_sessions() -> None:
        await asyncio.sleep(0.2)
        admin = await asyncpg.connect(own_replica.admin_dsn)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'orders' AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()

    try:
        answered_by_replica, _ = await asyncio.gather(database.query(slow_read), terminate_replica_sessions())
    finally:
        await database.dispose()
    assert answered_by_replica is False, "the answer did not come from the writer"
    assert calls == 2, "the read was not tried on the replica first, then on the writer"
