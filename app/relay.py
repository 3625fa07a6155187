"""`python -m app relay`: publish outbox rows to Kafka, keyed by order id, then mark them sent.

Several replicas can run: each batch is claimed with FOR UPDATE SKIP LOCKED. Delivery is
at-least-once (a crash between the Kafka ack and the commit republishes the batch); the
consumers' inbox table makes that harmless. While Kafka is down, rows simply wait.
"""

import asyncio
import contextlib
import json
import logging
import time

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, update

from app import outbox, service
from app.db import Database
from app.kafka import make_producer
from app.metrics import OUTBOX_BACKLOG, RELAYED
from app.settings import Settings
from app.tables import outbox as outbox_table

log = logging.getLogger(__name__)


async def publish_batch(database: Database, producer: AIOKafkaProducer, limit: int) -> int:
    """Publish up to `limit` unpublished rows in id order; returns how many were sent."""
    async with database.write() as conn:
        rows = (
            await conn.execute(
                select(outbox_table)
                .where(outbox_table.c.published_at.is_(None))
                .order_by(outbox_table.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            return 0
        deliveries = []
        for row in rows:
            headers = [
                ("event-type", row.event_type.encode()),
                ("event-id", str(row.event_id).encode()),
                ("schema-version", str(row.payload["version"]).encode()),
            ]
            deliveries.append(
                await producer.send(
                    row.topic,
                    json.dumps(row.payload).encode(),
                    key=row.key.encode(),
                    headers=headers,
                )
            )
        # All acked (acks=all) before any row is marked: a failure leaves the batch to retry.
        await asyncio.gather(*deliveries)
        await conn.execute(
            update(outbox_table).where(outbox_table.c.id.in_([row.id for row in rows])).values(published_at=func.now())
        )
    RELAYED.inc(len(rows))
    return len(rows)


class Relay:
    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.producer: AIOKafkaProducer | None = None
        self.healthy = False

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        gauge_due = 0.0
        while not stop.is_set():
            try:
                if self.producer is None:
                    self.producer = make_producer(self.settings)
                    await self.producer.start()
                sent = await publish_batch(self.database, self.producer, self.settings.relay_batch_size)
                if time.monotonic() >= gauge_due:
                    async with self.database.read(primary=True) as conn:
                        OUTBOX_BACKLOG.set(await outbox.backlog(conn))
                    gauge_due = time.monotonic() + self.settings.outbox_gauge_interval_seconds
                failures, self.healthy = 0, True
                if sent < self.settings.relay_batch_size:
                    await _sleep_or_stop(stop, self.settings.relay_poll_interval_ms / 1000)
            except Exception as exc:
                failures += 1
                self.healthy = False
                log.warning("relay attempt %d failed, rows stay in the outbox: %r", failures, exc)
                await self._reset_producer()
                await _sleep_or_stop(stop, service.backoff_seconds(self.settings, failures))
        await self._reset_producer()

    async def _reset_producer(self) -> None:
        # A fresh producer after an error: aiokafka does not always recover a failed start.
        if self.producer is not None:
            try:
                await self.producer.stop()
            except Exception as exc:
                log.debug("ignoring error while stopping the producer: %r", exc)
            self.producer = None


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _main(settings: Settings) -> None:
    database = Database(settings)
    relay = Relay(settings, database)

    async def ready() -> bool:
        return relay.healthy

    try:
        await service.run(settings, relay.run, ready)
    finally:
        await database.dispose()


def main(settings: Settings) -> None:
    asyncio.run(_main(settings))
