"""Records in flight at once, against the real broker and database: per-order order, a crash
mid-batch (SIGKILL of a real worker process), and draining on stop."""

import asyncio
import os
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.settings import Settings
from app.dev.localbroker import free_port
from app.pipeline import payment
from app.pipeline.events import Envelope, OrderFulfilled
from app.pipeline.kafka import make_consumer
from app.pipeline.relay import publish_batch
from app.pipeline.worker import Worker, WorkerSpec
from app.store.cache import Cache
from app.store.db import Database
from app.store.tables import order_status_history, outbox
from tests.app.helpers import new_product, place_order

pytestmark = pytest.mark.asyncio
REPO = Path(__file__).resolve().parents[3]
WAIT_SECONDS = 60.0


async def _until(check: object, within: float = WAIT_SECONDS) -> None:
    async def poll() -> None:
        while not await check():  # type: ignore[operator]
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), within)


async def test_events_of_one_order_apply_in_order_while_orders_run_concurrently(
    settings: Settings, database: Database, cache: Cache, producer: AIOKafkaProducer
) -> None:
    settings = settings.model_copy(update={"consumer_concurrency": 16})
    sequence: dict[uuid.UUID, int] = {}
    applied: dict[uuid.UUID, list[int]] = {}
    running = {"now": 0, "most": 0}

    async def handle(conn: AsyncConnection, envelope: Envelope) -> list[str]:
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        await asyncio.sleep(random.uniform(0, 0.02))
        applied.setdefault(envelope.order_id, []).append(sequence[envelope.event_id])
        running["now"] -= 1
        return []

    spec = WorkerSpec(
        name=f"lanes-{uuid.uuid4().hex[:8]}",
        topics=[settings.topic_shipments],
        accepts=frozenset({"OrderFulfilled"}),
        handle=handle,
    )
    order_ids = [uuid.uuid4() for _ in range(6)]
    for step in range(10):
        for order_id in order_ids:
            envelope = Envelope(order_id=order_id, event=OrderFulfilled(shipment_id=uuid.uuid4()))
            sequence[envelope.event_id] = step
            await producer.send(
                settings.topic_shipments, envelope.model_dump_json().encode(), key=str(order_id).encode()
            )
    await producer.flush()

    consumer = make_consumer(settings, spec.name, spec.topics)
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(spec, settings, database, cache, producer).run(consumer, stop))
    try:

        async def all_applied() -> bool:
            return sum(len(steps) for steps in applied.values()) == 60

        await _until(all_applied)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await consumer.stop()
    assert {order_id: steps for order_id, steps in applied.items()} == {o: list(range(10)) for o in order_ids}
    assert running["most"] > 1, "records were never in flight at once"


async def _publish_orders(
    database: Database, settings: Settings, producer: AIOKafkaProducer, count: int
) -> list[uuid.UUID]:
    sku = await new_product(database, stock=count * 2)
    order_ids = [await place_order(database, settings, sku) for _ in range(count)]
    while await publish_batch(database, producer, limit=500):
        pass
    return order_ids


async def _transitions(database: Database, order_ids: list[uuid.UUID], status: str) -> Counter[uuid.UUID]:
    async with database.read(primary=True) as conn:
        rows = await conn.execute(
            select(order_status_history.c.order_id).where(
                order_status_history.c.order_id.in_(order_ids), order_status_history.c.status == status
            )
        )
        return Counter(row.order_id for row in rows)


def _payment_process(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "PYTHONPATH": str(REPO),
        "APP_DB_WRITER_URL": settings.db_writer_url,
        "APP_DB_SSL": "disable",
        "APP_REDIS_URL": settings.redis_url,
        "APP_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "APP_TOPIC_ORDERS": settings.topic_orders,
        "APP_TOPIC_PAYMENTS": settings.topic_payments,
        "APP_CONSUMER_GROUP_PREFIX": settings.consumer_group_prefix,
        "APP_CONSUMER_CONCURRENCY": "16",
        "APP_PAYMENT_LATENCY_MS": "50",
        "APP_PAYMENT_FAILURE_RATE": "0",
        "APP_HOST": "127.0.0.1",
        "APP_METRICS_PORT": str(free_port()),
    }
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "app", "payment"], env=env, stdout=out, stderr=subprocess.STDOUT)


async def test_a_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    settings: Settings, database: Database, producer: AIOKafkaProducer, tmp_path: Path
) -> None:
    order_ids = await _publish_orders(database, settings, producer, 240)
    log = tmp_path / "payment.log"
    first = _payment_process(settings, log)
    try:

        async def some_paid() -> bool:
            return sum((await _transitions(database, order_ids, "paid")).values()) >= 40

        await _until(some_paid)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    paid_at_kill = sum((await _transitions(database, order_ids, "paid")).values())
    assert paid_at_kill < len(order_ids), "the worker finished before it could be killed mid-batch"

    second = _payment_process(settings, log)
    try:

        async def all_paid() -> bool:
            return len(await _transitions(database, order_ids, "paid")) == len(order_ids)

        await _until(all_paid)
        await asyncio.sleep(1.0)  # let any redelivered duplicate land before counting
    finally:
        second.terminate()
        second.wait(30)
    paid = await _transitions(database, order_ids, "paid")
    assert set(paid.values()) == {1}, f"orders paid twice: {[o for o, n in paid.items() if n > 1]}"
    async with database.read(primary=True) as conn:
        events = (
            await conn.execute(
                select(outbox.c.key, func.count())
                .where(outbox.c.topic == settings.topic_payments, outbox.c.key.in_([str(o) for o in order_ids]))
                .group_by(outbox.c.key)
            )
        ).all()
    assert len(events) == len(order_ids) and {n for _, n in events} == {1}, "payment events lost or doubled"


async def test_stop_drains_the_records_in_flight_and_commits_them(
    settings: Settings, database: Database, cache: Cache, producer: AIOKafkaProducer
) -> None:
    settings = settings.model_copy(update={"consumer_concurrency": 32, "payment_latency_ms": 300})
    order_ids = await _publish_orders(database, settings, producer, 20)
    spec = payment.spec(settings)
    consumer = make_consumer(settings, spec.name, spec.topics)
    await consumer.start()
    stop = asyncio.Event()
    worker = Worker(spec, settings, database, cache, producer)
    task = asyncio.create_task(worker.run(consumer, stop))
    try:

        async def several_in_flight() -> bool:
            return len(worker.lanes) >= 2

        await _until(several_in_flight)
        in_flight = len(worker.lanes)
        stop.set()
        await asyncio.wait_for(task, 30)
        partitions = [TopicPartition(settings.topic_orders, n) for n in range(settings.topic_partitions)]
        committed = [await consumer.committed(tp) or 0 for tp in partitions]
    finally:
        stop.set()
        await consumer.stop()
    paid = await _transitions(database, order_ids, "paid")
    assert len(paid) >= in_flight, "records in flight at the stop were dropped, not finished"
    assert sum(committed) == len(paid), "finished records were not committed (or unfinished ones were)"
