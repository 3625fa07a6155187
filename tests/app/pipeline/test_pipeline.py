"""End to end through Kafka: relay and all four workers running as consumer loops."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from httpx import AsyncClient
from prometheus_client import REGISTRY
from sqlalchemy import select

from app.core.settings import Settings
from app.pipeline import fulfillment, inventory, notification, payment
from app.pipeline.kafka import dlq, make_producer
from app.store import orders
from app.store.cache import Cache
from app.store.db import Database
from app.store.tables import notifications
from tests.app.helpers import (
    eventually,
    order_body,
    place_order,
    placed_event,
    read_topic,
    status_of,
)
from tests.app.pipeline.running import running_relay, running_workers

pytestmark = pytest.mark.asyncio


async def test_order_goes_from_pending_to_fulfilled_through_kafka(
    settings: Settings,
    database: Database,
    cache: Cache,
    client: AsyncClient,
    kafka_topics: list[str],
) -> None:
    specs = [module.spec(settings) for module in (payment, inventory, notification, fulfillment)]
    async with running_relay(settings, database), running_workers(settings, database, cache, *specs):
        order_id = (await client.post("/api/orders", json=order_body("SKU-0005", 2))).json()["id"]
        # Forget the read-your-writes cookie: GETs go through the cache, which workers invalidate.
        client.cookies.clear()
        seen: list[str] = []

        async def fulfilled() -> bool:
            body = (await client.get(f"/api/orders/{order_id}")).json()
            seen.append(body["status"])
            return bool(body["status"] == orders.FULFILLED)

        await eventually(fulfilled, within=30)
    body = (await client.get(f"/api/orders/{order_id}")).json()
    assert [change["status"] for change in body["history"]] == [
        "pending",
        "paid",
        "reserved",
        "fulfilled",
    ]
    async with database.read(primary=True) as conn:
        sent = (await conn.execute(select(notifications.c.kind).where(notifications.c.order_id == order_id))).all()
    assert [row.kind for row in sent] == ["order_confirmed"]
    [shipped] = await read_topic(settings, settings.topic_shipments, 1)
    assert shipped.key == order_id.encode()


async def test_poison_event_does_not_block_the_partition(
    settings: Settings, database: Database, cache: Cache, kafka_topics: list[str]
) -> None:
    order_id = await place_order(database, settings, "SKU-0001")
    good = await placed_event(database, order_id)
    producer = make_producer(settings)
    await producer.start()
    try:
        # Same key, so both land on one partition: the poison first, the good event behind it.
        key = str(order_id).encode()
        await producer.send_and_wait(settings.topic_orders, b"\x00garbage", key=key)
        await producer.send_and_wait(settings.topic_orders, good.model_dump_json().encode(), key=key)
    finally:
        await producer.stop()
    async with running_workers(settings, database, cache, payment.spec(settings)):

        async def paid() -> bool:
            return await status_of(database, order_id) == orders.PAID

        await eventually(paid)
    [dead] = await read_topic(settings, dlq(settings.topic_orders), 1)
    assert dead.value == b"\x00garbage"
    # A group member that subscribes to nothing reads the group's offsets without joining it
    # (an admin OffsetFetch would do too; this keeps to the consumer API the workers use).
    observer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.group_id("payment"),
        enable_auto_commit=False,
    )
    await observer.start()
    try:
        partition = TopicPartition(settings.topic_orders, int(dict(dead.headers)["original-partition"]))
        assert await observer.committed(partition) == 2
    finally:
        await observer.stop()


async def test_mail_outage_does_not_hold_up_fulfillment(
    settings: Settings,
    database: Database,
    cache: Cache,
    client: AsyncClient,
    kafka_topics: list[str],
) -> None:
    outage = settings.model_copy(update={"notification_failure_rate": 1.0})
    specs = [
        payment.spec(settings),
        inventory.spec(settings),
        notification.spec(outage),
        fulfillment.spec(settings),
    ]
    async with running_relay(settings, database), running_workers(settings, database, cache, *specs):
        order_id = (await client.post("/api/orders", json=order_body())).json()["id"]

        async def fulfilled() -> bool:
            return await status_of(database, uuid.UUID(order_id)) == orders.FULFILLED

        await eventually(fulfilled, within=30)
        [dead] = await read_topic(settings, dlq(settings.topic_payments), 1)
    assert dict(dead.headers)["consumer"] == b"notification"


async def test_worker_exports_consumer_lag(
    settings: Settings, database: Database, cache: Cache, kafka_topics: list[str]
) -> None:
    order_id = await place_order(database, settings, "SKU-0001")
    placed = await placed_event(database, order_id)
    producer = make_producer(settings)
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            settings.topic_orders, placed.model_dump_json().encode(), key=str(order_id).encode()
        )
    finally:
        await producer.stop()
    labels = {
        "group": settings.group_id("payment"),
        "topic": settings.topic_orders,
        "partition": str(sent.partition),
    }
    async with running_workers(settings, database, cache, payment.spec(settings)):

        async def caught_up() -> bool:
            return REGISTRY.get_sample_value("kafka_consumer_lag", labels) == 0

        await eventually(caught_up)
