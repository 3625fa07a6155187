"""The outbox relay: publishes committed events only, keyed by order, and survives Kafka outages."""

import asyncio
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from app import orders, topics
from app.api import create_app
from app.db import Database
from app.localbroker import LocalBroker
from app.relay import Relay, publish_batch
from app.schemas import LineItem, OrderRequest
from app.settings import Settings
from app.tables import outbox
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
    running.stop()


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

        own_broker.start()  # memory storage: the topics are gone and must be created again
        await topics.ensure(isolated)

        async def all_sent() -> bool:
            return await _unpublished(database) == 0

        await eventually(all_sent, within=30)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=15)
    keys = {m.key.decode() for m in await read_topic(isolated, isolated.topic_orders, 3) if m.key}
    assert set(placed) <= keys
