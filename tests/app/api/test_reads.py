"""Cache-aside reads (hits, invalidation, stampede, Redis outage) and replica read routing."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
import redis
from aiokafka import AIOKafkaProducer
from httpx import AsyncClient
from prometheus_client import REGISTRY
from sqlalchemy import event, insert

from app.api.main import create_app
from app.api.routes import READ_PRIMARY_COOKIE
from app.core.settings import Settings
from app.dev.localbroker import free_port
from app.pipeline import inventory, payment
from app.pipeline.worker import Worker
from app.store.cache import Cache, make_redis, product_key
from app.store.db import Database
from app.store.tables import products
from tests.app.conftest import Databases, api_client
from tests.app.helpers import (
    envelope_record,
    new_product,
    order_body,
    paid_order,
    place_order,
    placed_event,
)

pytestmark = pytest.mark.asyncio


def _counter(name: str, kind: str) -> float:
    return REGISTRY.get_sample_value(name, {"kind": kind}) or 0.0


# cache-aside


async def test_product_read_misses_then_hits(client: AsyncClient) -> None:
    misses, hits = (
        _counter("cache_misses_total", "product"),
        _counter("cache_hits_total", "product"),
    )
    first = await client.get("/api/products/SKU-0003")
    second = await client.get("/api/products/SKU-0003")
    assert first.json() == second.json()
    assert _counter("cache_misses_total", "product") == misses + 1
    assert _counter("cache_hits_total", "product") == hits + 1


async def test_reads_skip_redis_when_the_cache_is_switched_off(settings: Settings) -> None:
    off = settings.model_copy(update={"cache_enabled": False})
    hits = _counter("cache_hits_total", "product")
    async for client in api_client(create_app(off)):
        for _ in range(2):
            assert (await client.get("/api/products/SKU-0004")).status_code == 200
    assert _counter("cache_hits_total", "product") == hits
    assert redis.Redis.from_url(settings.redis_url).exists(product_key("SKU-0004")) == 0, "a read filled the cache"


async def test_user_read_is_cached(client: AsyncClient) -> None:
    hits = _counter("cache_hits_total", "user")
    await client.get("/api/users/cust-0001")
    response = await client.get("/api/users/cust-0001")
    assert response.json()["email"] == "cust-0001@example.com"
    assert _counter("cache_hits_total", "user") == hits + 1


async def test_stock_reservation_invalidates_the_cached_product(
    settings: Settings,
    client: AsyncClient,
    database: Database,
    cache: Cache,
    producer: AIOKafkaProducer,
) -> None:
    sku = await new_product(database, stock=10)
    assert (await client.get(f"/api/products/{sku}")).json()["stock"] == 10
    _, paid = await paid_order(database, settings, sku, quantity=4)
    worker = Worker(inventory.spec(settings), settings, database, cache, producer)
    await worker.process(envelope_record(settings.topic_payments, paid))
    assert (await client.get(f"/api/products/{sku}")).json()["stock"] == 6


async def test_status_change_invalidates_the_cached_order(
    settings: Settings,
    client: AsyncClient,
    database: Database,
    cache: Cache,
    producer: AIOKafkaProducer,
) -> None:
    order_id = await place_order(database, settings, "SKU-0001")
    assert (await client.get(f"/api/orders/{order_id}")).json()["status"] == "pending"
    worker = Worker(payment.spec(settings), settings, database, cache, producer)
    await worker.process(envelope_record(settings.topic_orders, await placed_event(database, order_id)))
    assert (await client.get(f"/api/orders/{order_id}")).json()["status"] == "paid"


async def test_redelivered_event_invalidates_what_the_first_delivery_left_cached(
    settings: Settings,
    client: AsyncClient,
    database: Database,
    cache: Cache,
    producer: AIOKafkaProducer,
) -> None:
    """The first delivery commits but its invalidation is lost (a crash, or Redis away at that
    moment); the redelivery finds the inbox row and must still invalidate."""
    order_id = await place_order(database, settings, "SKU-0001")
    assert (await client.get(f"/api/orders/{order_id}")).json()["status"] == "pending"
    placed = envelope_record(settings.topic_orders, await placed_event(database, order_id))
    unreachable = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    lost = Cache(unreachable, make_redis(unreachable))
    try:
        first = Worker(payment.spec(settings), settings, database, lost, producer)
        assert await first.process(placed) == "processed"
    finally:
        await lost.redis.aclose()
    assert (await client.get(f"/api/orders/{order_id}")).json()["status"] == "pending"
    redelivery = Worker(payment.spec(settings), settings, database, cache, producer)
    assert await redelivery.process(placed) == "duplicate"
    assert (await client.get(f"/api/orders/{order_id}")).json()["status"] == "paid"


async def test_invalidation_goes_through_while_the_breaker_is_open(cache: Cache) -> None:
    await cache.redis.set("order:breaker", b'{"status": "pending"}')
    cache._trip(RuntimeError("one earlier Redis timeout"))
    assert not cache.available
    await cache.invalidate("order:breaker")
    assert await cache.redis.get("order:breaker") is None


async def test_concurrent_misses_on_one_key_run_one_query(settings: Settings) -> None:
    app = create_app(settings)
    statements: list[str] = []
    async for client in api_client(app):

        @event.listens_for(app.state.database.writer.sync_engine, "before_cursor_execute")
        def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        responses = await asyncio.gather(*(client.get("/api/products/SKU-0007") for _ in range(20)))
        assert {r.status_code for r in responses} == {200}
    product_queries = [s for s in statements if "FROM products" in s]
    assert len(product_queries) == 1, product_queries


async def test_concurrent_misses_across_pods_run_one_query(settings: Settings) -> None:
    """Two Cache objects with their own Redis clients stand in for two API pods."""
    pods = [Cache(settings, make_redis(settings)) for _ in range(2)]
    queries = 0

    async def slow_query() -> dict[str, Any]:
        nonlocal queries
        queries += 1
        await asyncio.sleep(0.2)
        return {"sku": "X"}

    try:
        results = await asyncio.gather(
            *(pod.get_or_load("product", "product:shared", slow_query) for pod in pods for _ in range(5))
        )
    finally:
        for pod in pods:
            await pod.redis.aclose()
    assert results == [{"sku": "X"}] * 10
    assert queries == 1


async def _fill_racing_a_write(cache: Cache, key: str, pause_after_write: float = 0.0) -> dict[str, Any] | None:
    """A fill whose database read returns the old row while a writer commits and invalidates."""

    async def read_old_row_while_a_write_lands() -> dict[str, Any]:
        await cache.invalidate(key)
        await asyncio.sleep(pause_after_write)
        return {"status": "reserved"}

    return await cache.get_or_load("order", key, read_old_row_while_a_write_lands)


async def test_a_fill_racing_a_write_does_not_cache_the_old_row(settings: Settings) -> None:
    """The generation check alone: the fence has already expired when the fill stores."""
    cache = Cache(settings.model_copy(update={"cache_fence_ms": 1}), make_redis(settings))
    try:
        assert await _fill_racing_a_write(cache, "order:race", pause_after_write=0.05) == {"status": "reserved"}
        assert await cache.redis.get("order:race") is None
    finally:
        await cache.redis.aclose()


async def test_fills_right_after_a_write_are_not_cached(settings: Settings) -> None:
    """The fence: a fill may have read a replica that has not replayed the write yet."""
    cache = Cache(settings, make_redis(settings))
    try:
        await cache.invalidate("product:lagging")
        await cache.get_or_load("product", "product:lagging", _async_value({"stock": 5}))
        assert await cache.redis.get("product:lagging") is None
    finally:
        await cache.redis.aclose()


async def test_fills_are_cached_again_once_the_fence_has_passed(settings: Settings) -> None:
    cache = Cache(settings.model_copy(update={"cache_fence_ms": 20}), make_redis(settings))
    try:
        await cache.invalidate("product:settled")
        await asyncio.sleep(0.1)
        await cache.get_or_load("product", "product:settled", _async_value({"stock": 4}))
        assert await cache.redis.get("product:settled") is not None
    finally:
        await cache.redis.aclose()


def _async_value(value: dict[str, Any]) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def load() -> dict[str, Any]:
        return value

    return load


@pytest_asyncio.fixture
async def no_redis_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    closed = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async for client in api_client(create_app(closed)):
        yield client


async def test_reads_are_served_from_the_database_when_redis_is_down(
    no_redis_client: AsyncClient,
) -> None:
    response = await no_redis_client.get("/api/products/SKU-0004")
    assert response.status_code == 200
    assert response.json()["sku"] == "SKU-0004"


async def test_orders_are_accepted_and_read_when_redis_is_down(
    no_redis_client: AsyncClient,
) -> None:
    created = await no_redis_client.post("/api/orders", json=order_body())
    no_redis_client.cookies.clear()
    assert created.status_code == 202
    assert (await no_redis_client.get(f"/api/orders/{created.json()['id']}")).status_code == 200


async def test_redis_outage_costs_one_failed_call_then_the_breaker_skips_redis(
    no_redis_client: AsyncClient,
) -> None:
    errors = REGISTRY.get_sample_value("cache_errors_total") or 0.0
    for _ in range(10):
        await no_redis_client.get("/api/products/SKU-0004")
    assert REGISTRY.get_sample_value("cache_errors_total") == errors + 1


async def test_api_stays_ready_with_redis_down(no_redis_client: AsyncClient) -> None:
    await no_redis_client.get("/api/products/SKU-0004")
    response = await no_redis_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "degraded"}


# read routing: the "replica" is a second database, so where a row is found tells where a read went


@pytest_asyncio.fixture
async def replica(settings: Settings, databases: Databases) -> AsyncIterator[Database]:
    db = Database(settings.model_copy(update={"db_writer_url": databases.reader_url}))
    yield db
    await db.dispose()


@pytest_asyncio.fixture
async def routed(settings: Settings, databases: Databases) -> AsyncIterator[AsyncClient]:
    with_replica = settings.model_copy(
        update={"db_reader_urls": [databases.reader_url], "read_your_writes_seconds": 0.3}
    )
    async for client in api_client(create_app(with_replica)):
        yield client


async def test_reads_go_to_the_reader(routed: AsyncClient, replica: Database) -> None:
    async with replica.write() as conn:
        await conn.execute(insert(products).values(sku="ONLY-REPLICA1", name="r", price_cents=1, stock=1))
    assert (await routed.get("/api/products/ONLY-REPLICA1")).status_code == 200


async def test_reads_do_not_go_to_the_writer(routed: AsyncClient, database: Database) -> None:
    sku = await new_product(database, stock=1)
    assert (await routed.get(f"/api/products/{sku}")).status_code == 404


async def test_writes_go_to_the_writer(routed: AsyncClient, database: Database, replica: Database) -> None:
    order_id = (await routed.post("/api/orders", json=order_body())).json()["id"]
    async with database.read(primary=True) as conn:
        on_writer = (await conn.exec_driver_sql(f"SELECT count(*) FROM orders WHERE id = '{order_id}'")).scalar()
    async with replica.read(primary=True) as conn:
        on_replica = (await conn.exec_driver_sql(f"SELECT count(*) FROM orders WHERE id = '{order_id}'")).scalar()
    assert (on_writer, on_replica) == (1, 0)


async def test_client_reads_its_own_write_right_after_posting(routed: AsyncClient) -> None:
    order_id = (await routed.post("/api/orders", json=order_body())).json()["id"]
    response = await routed.get(f"/api/orders/{order_id}")
    assert response.status_code == 200
    assert response.json()["status"] == "pending"


@pytest.mark.parametrize("forged", ["1e12", "inf", "nan"])
async def test_read_primary_cookie_beyond_the_window_is_ignored(routed: AsyncClient, forged: str) -> None:
    order_id = (await routed.post("/api/orders", json=order_body())).json()["id"]
    routed.cookies.clear()
    response = await routed.get(f"/api/orders/{order_id}", headers={"Cookie": f"{READ_PRIMARY_COOKIE}={forged}"})
    # Our "replica" never receives the order, so 404 proves the read went to the reader.
    assert response.status_code == 404


async def test_read_primary_cookie_within_the_window_reads_the_primary(routed: AsyncClient) -> None:
    order_id = (await routed.post("/api/orders", json=order_body())).json()["id"]
    routed.cookies.clear()
    until = f"{time.time() + 0.2:.3f}"
    response = await routed.get(f"/api/orders/{order_id}", headers={"Cookie": f"{READ_PRIMARY_COOKIE}={until}"})
    assert response.status_code == 200


async def test_reads_return_to_the_reader_after_the_window(routed: AsyncClient) -> None:
    order_id = (await routed.post("/api/orders", json=order_body())).json()["id"]
    await asyncio.sleep(0.4)
    # Our "replica" never receives the order, so 404 proves the read left the primary.
    assert (await routed.get(f"/api/orders/{order_id}")).status_code == 404


async def test_reads_fall_back_to_the_writer_when_the_reader_is_down(settings: Settings, database: Database) -> None:
    dead_replica = settings.model_copy(
        update={"db_reader_urls": [f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"]}
    )
    sku = await new_product(database, stock=1)
    async for client in api_client(create_app(dead_replica)):
        assert (await client.get(f"/api/products/{sku}")).status_code == 200
