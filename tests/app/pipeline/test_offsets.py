"""A worker whose position is outside the log: detected, logged, counted, and the policy applied.

Against the real broker: offsets committed beyond the end, and a topic deleted and recreated
under a running worker.
"""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.settings import Settings
from app.pipeline.events import Envelope, Line, OrderPlaced
from app.pipeline.kafka import make_consumer
from app.pipeline.offsets import OffsetPolicyFailed, check_position
from app.pipeline.worker import Worker, WorkerSpec
from app.store.cache import Cache
from app.store.db import Database
from tests.app.helpers import CUSTOMER, eventually

pytestmark = pytest.mark.asyncio
BEYOND = 1_000


def _spec(settings: Settings, seen: list[uuid.UUID]) -> WorkerSpec:
    async def handle(conn: AsyncConnection, envelope: Envelope) -> list[str]:
        seen.append(envelope.event_id)
        return []

    return WorkerSpec(
        name=f"offsets-{uuid.uuid4().hex[:8]}",
        topics=[settings.topic_orders],
        accepts=frozenset({"OrderPlaced"}),
        handle=handle,
    )


async def _send(producer: AIOKafkaProducer, topic: str, count: int) -> None:
    for _ in range(count):
        placed = OrderPlaced(
            customer_id=CUSTOMER,
            currency="EUR",
            total_cents=100,
            items=[Line(sku="SKU-0001", quantity=1, unit_price_cents=100)],
        )
        envelope = Envelope(order_id=uuid.uuid4(), event=placed)
        await producer.send_and_wait(
            topic, envelope.model_dump_json().encode(), key=str(envelope.order_id).encode(), partition=0
        )


async def _commit_beyond_end(settings: Settings, group: str, partition: TopicPartition) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([partition])
        await consumer.commit({partition: BEYOND})
    finally:
        await consumer.stop()


def _resets(group: str, topic: str, policy: str) -> float:
    labels = {"group": group, "topic": topic, "partition": "0", "policy": policy}
    return REGISTRY.get_sample_value("kafka_offset_resets_total", labels) or 0.0


@asynccontextmanager
async def _worker(
    settings: Settings, spec: WorkerSpec, database: Database, cache: Cache
) -> AsyncIterator[asyncio.Task[None]]:
    consumer = make_consumer(settings, spec.name, spec.topics)
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(spec, settings, database, cache, producer=None).run(consumer, stop))  # type: ignore[arg-type]
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait([task], timeout=10)
        await consumer.stop()


@pytest.mark.parametrize(("policy", "expect_reread"), [("earliest", True), ("latest", False)])
async def test_committed_offset_beyond_the_end_is_logged_counted_and_follows_the_policy(
    settings: Settings,
    database: Database,
    cache: Cache,
    producer: AIOKafkaProducer,
    caplog: pytest.LogCaptureFixture,
    policy: str,
    expect_reread: bool,
) -> None:
    settings = settings.model_copy(update={"consumer_offset_reset_policy": policy})
    seen: list[uuid.UUID] = []
    spec = _spec(settings, seen)
    group = settings.group_id(spec.name)
    partition = TopicPartition(settings.topic_orders, 0)
    await _send(producer, settings.topic_orders, 3)
    await _commit_beyond_end(settings, group, partition)
    with caplog.at_level(logging.ERROR, logger="app.pipeline.offsets"):
        async with _worker(settings, spec, database, cache):
            await eventually(lambda: _async(_resets(group, settings.topic_orders, policy) >= 1))
            await _send(producer, settings.topic_orders, 1)
            await eventually(lambda: _async(len(seen) >= (4 if expect_reread else 1)))
    assert len(seen) == (4 if expect_reread else 1)
    message = next(r.getMessage() for r in caplog.records if "out of range" in r.getMessage())
    assert f"topic {settings.topic_orders} partition 0" in message
    assert f"offset {BEYOND}" in message


async def _async(value: bool) -> bool:
    return value


async def test_policy_fail_stops_the_worker_with_an_error_naming_the_partition(
    settings: Settings, database: Database, cache: Cache, producer: AIOKafkaProducer
) -> None:
    settings = settings.model_copy(update={"consumer_offset_reset_policy": "fail"})
    spec = _spec(settings, [])
    await _send(producer, settings.topic_orders, 1)
    await _commit_beyond_end(settings, settings.group_id(spec.name), TopicPartition(settings.topic_orders, 0))
    async with _worker(settings, spec, database, cache) as task:
        await asyncio.wait([task], timeout=20)
        assert task.done(), "the worker kept running past an out-of-range offset"
        with pytest.raises(OffsetPolicyFailed, match=rf"{settings.topic_orders}\[0\]"):
            task.result()


async def test_topic_deleted_and_recreated_under_a_running_worker_is_read_from_its_start(
    settings: Settings, database: Database, cache: Cache, producer: AIOKafkaProducer
) -> None:
    seen: list[uuid.UUID] = []
    spec = _spec(settings, seen)
    topic = settings.topic_orders
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        async with _worker(settings, spec, database, cache):
            await _send(producer, topic, 5)
            await eventually(lambda: _async(len(seen) == 5))
            await admin.delete_topics([topic])
            await eventually(lambda: _async_not_listed(admin, topic), within=20)
            await admin.create_topics([NewTopic(topic, settings.topic_partitions, 1)])
            await asyncio.sleep(1)
            await _send(producer, topic, 2)
            # Not stuck at offset 5 of a partition that now ends at 2.
            await eventually(lambda: _async(len(seen) == 7), within=30)
    finally:
        await admin.close()


async def _async_not_listed(admin: AIOKafkaAdminClient, topic: str) -> bool:
    return topic not in await admin.list_topics()


class _SeekRecorder:
    def __init__(self) -> None:
        self.seeks: list[tuple[str, TopicPartition]] = []

    async def seek_to_beginning(self, partition: TopicPartition) -> None:
        self.seeks.append(("beginning", partition))

    async def seek_to_end(self, partition: TopicPartition) -> None:
        self.seeks.append(("end", partition))


async def test_a_position_past_the_partition_end_is_repositioned_not_ignored() -> None:
    settings = Settings(db_writer_url="postgresql+asyncpg://x@127.0.0.1/db")
    consumer = _SeekRecorder()
    partition = TopicPartition("orders", 2)
    await check_position(consumer, settings, "g", partition, end=263, position=500)  # type: ignore[arg-type]
    await check_position(consumer, settings, "g", partition, end=263, position=263)  # type: ignore[arg-type]
    assert consumer.seeks == [("beginning", partition)]
    assert _resets_for("g", "orders", "2", "earliest") == 1


def _resets_for(group: str, topic: str, partition: str, policy: str) -> float:
    labels = {"group": group, "topic": topic, "partition": partition, "policy": policy}
    return REGISTRY.get_sample_value("kafka_offset_resets_total", labels) or 0.0
