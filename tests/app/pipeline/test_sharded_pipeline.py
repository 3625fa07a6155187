"""The app on several local shards, in process: placement, relay, workers, reads and the saga."""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import event, func, select

from app.api.main import create_app
from app.core.settings import Settings
from app.pipeline import fulfillment, inventory, notification, payment
from app.pipeline.events import Envelope, InventoryUpdated
from app.pipeline.kafka import dlq
from app.pipeline.relay import Relay
from app.pipeline.worker import Worker, WorkerSpec
from app.store import orders
from app.store.cache import Cache
from app.store.db import Database
from app.store.routing import Shards
from app.store.tables import inbox, order_status_history, outbox, products, stock_reservations
from tests.app.conftest import api_client
from tests.app.helpers import envelope_record, eventually, local_issuer, new_product, order_body, read_topic, stock_of
from tests.app.pipeline.running import STOP_TIMEOUT_SECONDS, running_relay, running_workers
from tests.app.sharding import customers_on_every_shard, settle_outboxes, sharded

pytestmark = pytest.mark.asyncio


@asynccontextmanager
async def _shards(settings: Settings, urls: list[str]) -> AsyncIterator[tuple[Settings, Shards]]:
    config = sharded(settings, urls)
    shards = Shards(config)
    await shards.follow_moves()
    await settle_outboxes(shards)
    try:
        yield config, shards
    finally:
        await shards.dispose()


@asynccontextmanager
async def _pipeline(settings: Settings, shards: Shards, cache: Cache) -> AsyncIterator[None]:
    """The relay and the four workers as tasks over `shards`, stopped (bounded) on exit."""
    specs: list[WorkerSpec] = [module.spec(settings) for module in (payment, inventory, notification, fulfillment)]
    async with running_relay(settings, shards), running_workers(settings, shards, cache, *specs):
        yield


@asynccontextmanager
async def _client(app: FastAPI, customer: str | None) -> AsyncIterator[AsyncClient]:
    async for client in api_client(app, customer=customer):
        yield client


async def _count(database: Database, table: Any, *where: Any) -> int:
    async with database.read(primary=True) as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


@pytest.mark.parametrize("count", [2, 3])
async def test_orders_for_customers_on_every_shard_reach_fulfilled(
    settings: Settings, shard_urls: list[str], cache: Cache, kafka_topics: list[str], count: int
) -> None:
    async with _shards(settings, shard_urls[:count]) as (config, shards), _pipeline(config, shards, cache):
        sku = await new_product(shards.home, stock=100)
        placed: dict[str, tuple[str, str]] = {}
        async with _client(create_app(config), None) as client:
            for shard, customer in customers_on_every_shard(shards).items():
                signed_in = local_issuer().headers(customer)
                response = await client.post("/api/orders", json=order_body(sku, 2), headers=signed_in)
                assert response.status_code == 202, response.text
                placed[shard] = (customer, response.json()["id"])
            client.cookies.clear()

            async def all_fulfilled() -> bool:
                for customer, order_id in placed.values():
                    body = (
                        await client.get(f"/api/orders/{order_id}", headers=local_issuer().headers(customer))
                    ).json()
                    if body["status"] != orders.FULFILLED:
                        return False
                return True

            await eventually(all_fulfilled, within=60)
        assert set(placed) == set(shards.names)
        for shard, (customer, order_id) in placed.items():
            for other in shards:
                held = await _count(other, order_status_history, order_status_history.c.order_id == order_id)
                assert held == (4 if other.name == shard else 0), f"order of {customer} on {other.name}: {held} rows"
        # Stock is global: taken once per order, on the home shard.
        assert await stock_of(shards.home, sku) == 100 - 2 * count


async def test_every_emitted_event_carries_its_customer(
    settings: Settings, shard_urls: list[str], cache: Cache, kafka_topics: list[str]
) -> None:
    async with _shards(settings, shard_urls[:2]) as (config, shards), _pipeline(config, shards, cache):
        customer = customers_on_every_shard(shards)["s1"]
        async with _client(create_app(config), None) as client:
            signed_in = local_issuer().headers(customer)
            order_id = (await client.post("/api/orders", json=order_body("SKU-0003"), headers=signed_in)).json()["id"]

            async def done() -> bool:
                return await _count(shards.by_name("s1"), outbox, outbox.c.key == order_id) == 4

            await eventually(done, within=60)
        async with shards.by_name("s1").read(primary=True) as conn:
            payloads = (await conn.execute(select(outbox.c.payload).where(outbox.c.key == order_id))).scalars().all()
    assert [Envelope.model_validate(p).customer_id for p in payloads] == [customer] * 4


class _Statements:
    """Counts the statements each shard's engines run (writer and replicas alike)."""

    def __init__(self, shards: Shards) -> None:
        self.counts: Counter[str] = Counter()
        for database in shards:
            for engine in (database.writer, *database.readers):
                event.listen(engine.sync_engine, "before_cursor_execute", self._listener(database.name))

    def _listener(self, name: str) -> Any:
        def counted(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "outbox" not in statement:  # the API's backlog gauge polls every shard
                self.counts[name] += 1

        return counted


async def test_get_order_by_id_touches_only_the_customers_shard(
    settings: Settings, shard_urls: list[str], kafka_topics: list[str]
) -> None:
    async with _shards(settings, shard_urls) as (config, _):
        app = create_app(config.model_copy(update={"cache_enabled": False}))
        async with _client(app, None) as client:
            shards: Shards = app.state.shards
            customers = customers_on_every_shard(shards)
            # Not the home shard, so a lookup there (sign-in aside) would be a scatter.
            owner = customers["s2"]
            signed_in = local_issuer().headers(owner)
            order_id = (await client.post("/api/orders", json=order_body(), headers=signed_in)).json()["id"]
            client.cookies.clear()
            statements = _Statements(shards)
            response = await client.get(f"/api/orders/{order_id}", headers=signed_in)
            assert response.status_code == 200
            assert statements.counts["s2"] > 0
            assert {name: n for name, n in statements.counts.items() if name != "s2"} == {}
            # Another customer asking for it (on shard s1) looks on s1 only and finds nothing.
            stranger = local_issuer().headers(customers["s1"])
            assert (await client.get("/api/users/" + customers["s1"], headers=stranger)).status_code == 200
            statements.counts.clear()
            assert (await client.get(f"/api/orders/{order_id}", headers=stranger)).status_code == 404
            assert set(statements.counts) == {"s1"}


def _payment(order_id: uuid.UUID, customer: str, sku: str, quantity: int) -> Envelope:
    line = {"sku": sku, "quantity": quantity, "unit_price_cents": 500}
    return Envelope.model_validate(
        {
            "order_id": order_id,
            "customer_id": customer,
            "event": {
                "type": "PaymentProcessed",
                "customer_id": customer,
                "payment_id": uuid.uuid4(),
                "amount_cents": 500 * quantity,
                "currency": "EUR",
                "items": [line],
            },
        }
    )


async def _paid_order(config: Settings, shards: Shards, customer: str, sku: str, quantity: int) -> uuid.UUID:
    async with _client(create_app(config), None) as client:
        signed_in = local_issuer().headers(customer)
        order_id = uuid.UUID(
            (await client.post("/api/orders", json=order_body(sku, quantity), headers=signed_in)).json()["id"]
        )
    async with shards.for_customer(customer).write() as conn:
        await orders.transition(conn, order_id, source=orders.PENDING, target=orders.PAID)
    return order_id


async def _saga_outcome(shards: Shards, customer: str, order_id: uuid.UUID) -> tuple[list[str], int, int]:
    own = shards.for_customer(customer)
    async with own.read(primary=True) as conn:
        history = (
            (
                await conn.execute(
                    select(order_status_history.c.status)
                    .where(order_status_history.c.order_id == order_id)
                    .order_by(order_status_history.c.id)
                )
            )
            .scalars()
            .all()
        )
    events = await _count(own, outbox, outbox.c.key == str(order_id), outbox.c.event_type == "InventoryUpdated")
    decisions = await _count(shards.home, stock_reservations, stock_reservations.c.order_id == order_id)
    return list(history), events, decisions


async def test_inventory_killed_between_its_two_steps_completes_once_on_redelivery(
    settings: Settings, shard_urls: list[str], cache: Cache, kafka_topics: list[str]
) -> None:
    async with _shards(settings, shard_urls[:2]) as (config, shards):
        customer = customers_on_every_shard(shards)["s1"]
        sku = await new_product(shards.home, stock=10)
        order_id = await _paid_order(config, shards, customer, sku, 3)
        paid = _payment(order_id, customer, sku, 3)
        # A process that committed step 1 (home: inbox claim, stock, decision) and died.
        async with shards.home.write() as conn:
            assert await inventory.decide(conn, paid) is not None
        assert await stock_of(shards.home, sku) == 7
        # Kafka redelivers (the offset was never committed) to a fresh worker.
        fresh = Worker(inventory.spec(config), config, shards, cache, producer=None)  # type: ignore[arg-type]
        assert await fresh.process(envelope_record(config.topic_payments, paid)) == "processed"
        assert await fresh.process(envelope_record(config.topic_payments, paid, offset=1)) == "duplicate"
        assert await _saga_outcome(shards, customer, order_id) == (["pending", "paid", "reserved"], 1, 1)
        assert await stock_of(shards.home, sku) == 7


async def test_inventory_whose_second_step_fails_retries_without_taking_stock_again(
    settings: Settings, shard_urls: list[str], cache: Cache, kafka_topics: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _shards(settings, shard_urls[:2]) as (config, shards):
        customer = customers_on_every_shard(shards)["s1"]
        sku = await new_product(shards.home, stock=5)
        order_id = await _paid_order(config, shards, customer, sku, 5)
        own = shards.for_customer(customer)
        real_write = own.write
        failures = iter([RuntimeError("customer shard lost between the saga's steps")])

        def failing_write() -> Any:
            if (failure := next(failures, None)) is not None:
                raise failure
            return real_write()

        monkeypatch.setattr(own, "write", failing_write)
        worker = Worker(inventory.spec(config), config, shards, cache, producer=None)  # type: ignore[arg-type]
        record = envelope_record(config.topic_payments, _payment(order_id, customer, sku, 5))
        assert await worker.process(record) == "processed"
        assert await _saga_outcome(shards, customer, order_id) == (["pending", "paid", "reserved"], 1, 1)
        assert await stock_of(shards.home, sku) == 0
        async with shards.home.read(primary=True) as conn:
            claims = (
                (await conn.execute(select(inbox.c.consumer).where(inbox.c.event_id == record_event_id(record))))
                .scalars()
                .all()
            )
        assert claims == ["inventory"]


def record_event_id(record: Any) -> uuid.UUID:
    return Envelope.model_validate_json(record.value).event_id


async def test_one_shard_keeps_the_saga_on_one_database(
    settings: Settings, database: Database, cache: Cache, kafka_topics: list[str]
) -> None:
    shards = Shards.of(database)
    sku = await new_product(database, stock=1)
    order_id = await _paid_order(settings, shards, "cust-0001", sku, 2)
    worker = Worker(inventory.spec(settings), settings, shards, cache, producer=None)  # type: ignore[arg-type]
    assert (
        await worker.process(envelope_record(settings.topic_payments, _payment(order_id, "cust-0001", sku, 2)))
        == "processed"
    )
    async with database.read(primary=True) as conn:
        status = (
            await conn.execute(
                select(order_status_history.c.status, order_status_history.c.reason)
                .where(order_status_history.c.order_id == order_id)
                .order_by(order_status_history.c.id.desc())
            )
        ).first()
        stock = (await conn.execute(select(products.c.stock).where(products.c.sku == sku))).scalar_one()
    assert status is not None and (status.status, status.reason) == ("out_of_stock", f"not enough stock for {sku}")
    assert stock == 1


async def test_relay_keeps_publishing_a_healthy_shard_while_another_is_down(
    settings: Settings, shard_urls: list[str], kafka_topics: list[str]
) -> None:
    async with _shards(settings, shard_urls[:2]) as (config, shards):
        dead = Database(config, name="s1", writer_url="postgresql+asyncpg://postgres@127.0.0.1:1/none")
        mixed = Shards(config, [shards.home, dead])
        customer = customers_on_every_shard(shards)["s0"]
        order_id = await _paid_order(config, shards, customer, "SKU-0002", 1)
        relay = Relay(config, mixed)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:

            async def published() -> bool:
                return (
                    await _count(shards.home, outbox, outbox.c.key == str(order_id), outbox.c.published_at.is_(None))
                    == 0
                )

            await eventually(published, within=20)
            assert relay.health == {"s0": True, "s1": False}
            assert not relay.healthy
        finally:
            stop.set()
            await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)
            await dead.dispose()


async def test_an_event_without_customer_is_dead_lettered_when_there_are_several_shards(
    settings: Settings, shard_urls: list[str], cache: Cache, producer: AIOKafkaProducer
) -> None:
    async with _shards(settings, shard_urls[:2]) as (config, shards):
        worker = Worker(fulfillment.spec(config), config, shards, cache, producer)
        legacy = Envelope(order_id=uuid.uuid4(), event=InventoryUpdated(items=[]))
        assert await worker.process(envelope_record(config.topic_inventory, legacy)) == "dead_lettered"
    [dead] = await read_topic(config, dlq(config.topic_inventory), 1)
    headers = dict(dead.headers)
    assert headers["error-type"] == b"MissingCustomer"
    assert b"has no customer_id and there are 2 shards" in headers["error-message"]


async def test_a_home_customers_inventory_event_commits_once_on_the_home_shard(
    settings: Settings, shard_urls: list[str], cache: Cache, kafka_topics: list[str]
) -> None:
    async with _shards(settings, shard_urls[:2]) as (config, shards):
        customer = customers_on_every_shard(shards)["s0"]
        sku = await new_product(shards.home, stock=10)
        order_id = await _paid_order(config, shards, customer, sku, 2)
        commits = Counter[str]()
        for database in shards:
            name = database.name
            event.listen(database.writer.sync_engine, "commit", lambda conn, name=name: commits.update([name]))
        worker = Worker(inventory.spec(config), config, shards, cache, producer=None)  # type: ignore[arg-type]
        record = envelope_record(config.topic_payments, _payment(order_id, customer, sku, 2))
        assert await worker.process(record) == "processed"
        assert commits == {"s0": 1}, "stock, decision, both inbox claims and the order move commit together"
        assert await _saga_outcome(shards, customer, order_id) == (["pending", "paid", "reserved"], 1, 1)
