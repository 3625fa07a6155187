"""The outbox relay: publishes committed events only, keyed by order, and survives Kafka outages."""

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Row, func, insert, select

from app.api.main import create_app
from app.api.schemas import LineItem, OrderRequest
from app.core.metrics import PARKED
from app.core.settings import Settings
from app.dev.localbroker import LocalBroker
from app.pipeline import topics
from app.pipeline.kafka import make_producer
from app.pipeline.relay import BatchFailed, Relay, publish_batch, stop_producer
from app.store import orders
from app.store.db import Database
from app.store.tables import outbox
from tests.app.conftest import api_client
from tests.app.helpers import CUSTOMER, eventually, order_body, place_order, read_topic

pytestmark = pytest.mark.asyncio


async def _unpublished(database: Database) -> int:
    async with database.read(primary=True) as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


async def _drain(database: Database, producer: AIOKafkaProducer) -> None:
    while await publish_batch(database, producer, limit=100):
        pass


async def test_relay_publishes_order_placed_keyed_by_order_id(
    settings: Settings, database: Database, producer: AIOKafkaProducer
) -> None:
    order_id = await place_order(database, settings, "SKU-0001")
    await _drain(database, producer)
    [message] = await read_topic(settings, settings.topic_orders, 1)
    assert message.key == str(order_id).encode()
    assert dict(message.headers)["event-type"] == b"OrderPlaced"
    assert dict(message.headers)["schema-version"] == b"1"


async def test_relay_marks_published_rows_sent(
    settings: Settings, database: Database, producer: AIOKafkaProducer
) -> None:
    await place_order(database, settings, "SKU-0001")
    await _drain(database, producer)
    assert await _unpublished(database) == 0


async def test_rolled_back_order_publishes_nothing(
    settings: Settings, database: Database, producer: AIOKafkaProducer
) -> None:
    request = OrderRequest(customer_id=CUSTOMER, currency="EUR", items=[LineItem(sku="SKU-0001", quantity=1)])
    with pytest.raises(RuntimeError):
        async with database.write() as conn:
            await orders.place(conn, request, topic=settings.topic_orders, idempotency_key=None)
            raise RuntimeError("payment gateway said no before commit")
    committed = await place_order(database, settings, "SKU-0001")
    await _drain(database, producer)
    messages = await read_topic(settings, settings.topic_orders, 2, within=2.0)
    assert [m.key for m in messages] == [str(committed).encode()]


async def test_concurrent_relays_publish_each_row_once(
    settings: Settings, database: Database, producer: AIOKafkaProducer
) -> None:
    for _ in range(20):
        await place_order(database, settings, "SKU-0001")
    other = Database(settings)
    try:
        await asyncio.gather(publish_batch(database, producer, limit=10), publish_batch(other, producer, limit=10))
    finally:
        await other.dispose()
    await _drain(database, producer)
    messages = await read_topic(settings, settings.topic_orders, 21, within=3.0)
    assert len(messages) == 20
    assert len({m.key for m in messages}) == 20


@pytest.fixture
def own_broker() -> Iterator[LocalBroker]:
    running = LocalBroker()
    running.start()
    yield running
    running.close()


async def test_orders_accepted_while_kafka_is_down_are_published_when_it_returns(
    settings: Settings, own_broker: LocalBroker, database: Database
) -> None:
    isolated = settings.model_copy(update={"kafka_bootstrap_servers": own_broker.bootstrap})
    await topics.ensure(isolated)
    relay = Relay(isolated, database)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        own_broker.stop()
        placed: list[str] = []
        async for client in api_client(create_app(isolated)):
            for _ in range(3):
                response = await client.post("/api/orders", json=order_body())
                assert response.status_code == 202
                placed.append(response.json()["id"])
        await asyncio.sleep(0.5)
        assert await _unpublished(database) >= 3, "events left the outbox while Kafka was down"

        own_broker.start()  # same data directory: the topics and what was acknowledged are still there

        async def all_sent() -> bool:
            return await _unpublished(database) == 0

        await eventually(all_sent, within=30)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=15)
    keys = {m.key.decode() for m in await read_topic(isolated, isolated.topic_orders, 3) if m.key}
    assert set(placed) <= keys


OVERSIZED = "x" * 1_100_000  # over the producer's max_request_size (1 MiB)


async def _add_row(database: Database, topic: str, key: str, *, pad: str = "") -> int:
    """An outbox row written directly, so a test can make one unpublishable."""
    async with database.write() as conn:
        return int(
            (
                await conn.execute(
                    insert(outbox)
                    .values(
                        event_id=uuid.uuid4(),
                        topic=topic,
                        key=key,
                        event_type="OrderPlaced",
                        payload={"version": 1, "pad": pad},
                    )
                    .returning(outbox.c.id)
                )
            ).scalar_one()
        )


async def _row(database: Database, row_id: int) -> Row[Any]:
    async with database.read(primary=True) as conn:
        return (await conn.execute(select(outbox).where(outbox.c.id == row_id))).one()


async def test_oversized_row_in_the_middle_does_not_hold_back_the_rows_around_it(
    settings: Settings, database: Database, producer: AIOKafkaProducer
) -> None:
    before = await _add_row(database, settings.topic_orders, "order-a")
    bad = await _add_row(database, settings.topic_orders, "order-b", pad=OVERSIZED)
    after = await _add_row(database, settings.topic_orders, "order-c")

    assert await publish_batch(database, producer, limit=100) == 2

    messages = await read_topic(settings, settings.topic_orders, 3, within=2.0)
    assert sorted(m.key for m in messages) == [b"order-a", b"order-c"]
    assert (await _row(database, before)).published_at is not None
    assert (await _row(database, after)).published_at is not None
    failed = await _row(database, bad)
    assert failed.published_at is None and failed.parked_at is None
    assert failed.attempts == 1
    assert "MessageSizeTooLarge" in failed.last_error


async def test_row_failing_max_attempts_times_is_parked_and_no_longer_claimed(
    settings: Settings, database: Database, producer: AIOKafkaProducer
) -> None:
    bad = await _add_row(database, settings.topic_orders, "order-a", pad=OVERSIZED)
    parked_before = PARKED._value.get()

    assert await publish_batch(database, producer, limit=100, max_attempts=2) == 0
    assert (await _row(database, bad)).parked_at is None
    assert await publish_batch(database, producer, limit=100, max_attempts=2) == 0
    parked = await _row(database, bad)
    assert parked.parked_at is not None and parked.attempts == 2
    assert PARKED._value.get() == parked_before + 1

    good = await _add_row(database, settings.topic_orders, "order-b")
    assert await publish_batch(database, producer, limit=1, max_attempts=2) == 1
    assert (await _row(database, good)).published_at is not None
    assert (await _row(database, bad)).attempts == 2, "a parked row was claimed again"


async def test_later_row_of_the_same_order_never_overtakes_a_failing_one(
    settings: Settings, database: Database, producer: AIOKafkaProducer
) -> None:
    bad = await _add_row(database, settings.topic_orders, "order-k", pad=OVERSIZED)
    later = await _add_row(database, settings.topic_orders, "order-k")
    other = await _add_row(database, settings.topic_orders, "order-l")

    assert await publish_batch(database, producer, limit=100, max_attempts=1) == 1
    assert (await _row(database, other)).published_at is not None
    held = await _row(database, later)
    assert held.published_at is None and held.attempts == 0
    assert (await _row(database, bad)).parked_at is not None
    assert [m.key for m in await read_topic(settings, settings.topic_orders, 2, within=2.0)] == [b"order-l"]

    # Once the failing row is parked (and alerted on), the order's later events flow again.
    assert await publish_batch(database, producer, limit=100, max_attempts=1) == 1
    assert (await _row(database, later)).published_at is not None


async def test_broker_down_parks_nothing(settings: Settings, own_broker: LocalBroker, database: Database) -> None:
    isolated = settings.model_copy(update={"kafka_bootstrap_servers": own_broker.bootstrap})
    await topics.ensure(isolated)
    producer = make_producer(isolated)
    await producer.start()
    try:
        await _add_row(database, isolated.topic_orders, "warm-up")
        assert await publish_batch(database, producer, limit=100) == 1  # metadata now cached
        rows = [await _add_row(database, isolated.topic_orders, f"order-{n}") for n in range(3)]
        own_broker.stop()
        with pytest.raises(BatchFailed):
            await asyncio.wait_for(
                publish_batch(database, producer, limit=100, max_attempts=1, delivery_timeout=3), timeout=60
            )
    finally:
        await stop_producer(producer, timeout=3)
    for row_id in rows:
        row = await _row(database, row_id)
        assert row.published_at is None and row.parked_at is None and row.attempts == 0
