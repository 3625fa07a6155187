"""`python -m app relay`: publish outbox rows to Kafka, keyed by order id, then mark them sent.

Every shard has its own outbox; one relay process drains them all, one loop per shard.

Several replicas can run: each batch is claimed with FOR UPDATE SKIP LOCKED. Delivery is
at-least-once (a crash between the Kafka ack and the commit republishes the batch); the
consumers' inbox table makes that harmless. While Kafka is down, rows simply wait.
"""

import asyncio
import contextlib
import logging
import time
import typing
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from sqlalchemy import Row, Text, cast, func, select, update

from app.core import service
from app.core.logs import log_context
from app.core.metrics import OUTBOX_BACKLOG, PARKED, RELAYED
from app.core.settings import Settings
from app.pipeline.kafka import make_producer
from app.store import outbox
from app.store.db import Database
from app.store.routing import Shards
from app.store.tables import outbox as outbox_table

log = logging.getLogger(__name__)


# Errors that belong to one message, not to the broker: they count against the row even when
# nothing else in the batch got through.
MESSAGE_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    UnknownTopicOrPartitionError,
    InvalidTopicError,
    TopicAuthorizationFailedError,
)


class Skipped(Exception):
    """Not sent: an earlier send to the same topic already failed in this batch."""


class BatchFailed(Exception):
    """No row of the batch could be sent and not for reasons of their own: Kafka is down."""


class DeliveryTimeout(Exception):
    """Not acknowledged within the relay's delivery timeout (an idempotent producer retries
    forever on its own while the broker is away; the row stays in the outbox)."""


async def _send_all(
    producer: AIOKafkaProducer, rows: Sequence[Row[Any]], dead_topics: set[str], timeout: float
) -> list[BaseException | None]:
    """Send pipelined, then await each delivery on its own: one result per row (None = acked).

    A topic whose metadata could not be had (a timeout: no such topic, or Kafka down) is not
    tried again in this batch, so a broker outage costs one timeout per topic, not per row;
    its other rows get `Skipped` and are not counted as attempts.
    """
    pending: list[tuple[int, asyncio.Future[Any]]] = []
    results: list[BaseException | None] = [None] * len(rows)
    for index, row in enumerate(rows):
        if row.topic in dead_topics:
            results[index] = Skipped(row.topic)
            continue
        headers = [
            ("event-type", row.event_type.encode()),
            ("event-id", str(row.event_id).encode()),
            ("schema-version", str(row.version).encode()),
        ]
        try:
            delivery = await producer.send(row.topic, row.payload_text.encode(), key=row.key.encode(), headers=headers)
        except Exception as exc:  # too large, metadata timeout, ...: this row only
            results[index] = exc
            if not isinstance(exc, MESSAGE_ERRORS):
                dead_topics.add(row.topic)
        else:
            pending.append((index, delivery))
    if pending:
        await asyncio.wait([delivery for _, delivery in pending], timeout=timeout)
    for index, delivery in pending:
        if not delivery.done():
            results[index] = DeliveryTimeout(f"no acknowledgement within {timeout}s")
        elif (error := delivery.exception()) is not None:
            results[index] = error
    return results


async def publish_batch(
    database: Database, producer: AIOKafkaProducer, limit: int, max_attempts: int = 10, delivery_timeout: float = 30.0
) -> int:
    """Publish up to `limit` unpublished, unparked rows in id order; returns how many were sent.

    Rows are sent in waves, at most one row per key in flight: a later event for an order is
    sent only once the earlier one is acked, and not at all in this batch if the earlier one
    failed. Acked rows are marked published; a failed row gets `attempts` + 1 and `last_error`
    and is parked after `max_attempts`, unless the whole batch failed for a reason that is not
    the message's own (Kafka down): then nothing is counted and BatchFailed is raised.
    """
    failed: dict[int, BaseException] = {}
    async with database.write() as conn:
        claimed = (
            await conn.execute(
                select(
                    *(outbox_table.c[name] for name in ("id", "event_id", "topic", "key", "event_type", "attempts")),
                    # The stored JSON as text, sent as is: no decoding and re-encoding per row.
                    cast(outbox_table.c.payload, Text).label("payload_text"),
                    outbox_table.c.payload["version"].astext.label("version"),
                )
                .where(outbox_table.c.published_at.is_(None), outbox_table.c.parked_at.is_(None))
                .order_by(outbox_table.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        rows = typing.cast(Sequence[Row[Any]], claimed)
        if not rows:
            return 0
        published: list[int] = []
        waiting = list(rows)
        blocked: set[str] = set()
        dead_topics: set[str] = set()
        while waiting:
            wave: list[Row[Any]] = []
            later: list[Row[Any]] = []
            keys: set[str] = set()
            for row in waiting:
                if row.key in blocked:
                    continue  # an earlier row of this order failed: wait for the next cycle
                (later if row.key in keys else wave).append(row)
                keys.add(row.key)
            for row, error in zip(wave, await _send_all(producer, wave, dead_topics, delivery_timeout), strict=True):
                if error is None:
                    published.append(row.id)
                else:
                    failed[row.id] = error
                    blocked.add(row.key)
            waiting = later
        counted = [
            row
            for row in rows
            if row.id in failed
            and not isinstance(failed[row.id], Skipped)
            and (published or isinstance(failed[row.id], MESSAGE_ERRORS))
        ]
        if published:
            await conn.execute(
                update(outbox_table).where(outbox_table.c.id.in_(published)).values(published_at=func.now())
            )
        for row in counted:
            attempts = row.attempts + 1
            error = failed[row.id]
            parked = attempts >= max_attempts
            await conn.execute(
                update(outbox_table)
                .where(outbox_table.c.id == row.id)
                .values(attempts=attempts, last_error=repr(error)[:2000], parked_at=func.now() if parked else None)
            )
            if parked:
                PARKED.inc()
                with log_context(order_id=row.key, event_id=row.event_id):
                    log.error(
                        "outbox row parked after %d failed deliveries (event %s, order %s, topic %s): %r",
                        attempts,
                        row.event_id,
                        row.key,
                        row.topic,
                        error,
                    )
            else:
                log.warning("outbox event %s failed delivery %d: %r", row.event_id, attempts, error)
    RELAYED.inc(len(published))
    if failed and not published and len(counted) < len(failed):
        raise BatchFailed(f"{len(failed)} of {len(rows)} rows failed, none sent: {next(iter(failed.values()))!r}")
    return len(published)


class Relay:
    """One drain loop per shard, each with its own producer and back-off, in one process: a
    shard that is down (or a producer that failed) holds back only that shard's rows. An
    order's rows all sit on its customer's shard, so per-order ordering is one loop's concern,
    exactly as with one database."""

    def __init__(self, settings: Settings, database: Database | Shards) -> None:
        self.settings = settings
        self.shards = database if isinstance(database, Shards) else Shards.of(database)
        self.database = self.shards.home
        self.producers: dict[str, AIOKafkaProducer | None] = {}
        self.health: dict[str, bool] = {}
        self.backlog: dict[str, int] = {}

    @property
    def producer(self) -> AIOKafkaProducer | None:
        """The home shard's producer (the only one with one shard)."""
        return self.producers.get(self.database.name)

    @property
    def healthy(self) -> bool:
        """Every shard's last publish cycle succeeded."""
        return len(self.health) == len(self.shards) and all(self.health.values())

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._drain(database, stop) for database in self.shards))

    async def _drain(self, database: Database, stop: asyncio.Event) -> None:
        shard = database.name
        self.health[shard] = False
        failures = 0
        gauge_due = 0.0
        while not stop.is_set():
            try:
                producer = self.producers.get(shard)
                if producer is None:
                    producer = self.producers[shard] = make_producer(self.settings)
                    await producer.start()
                sent = await publish_batch(
                    database,
                    producer,
                    self.settings.relay_batch_size,
                    self.settings.relay_max_attempts,
                    self.settings.relay_delivery_timeout_ms / 1000,
                )
                if time.monotonic() >= gauge_due:
                    async with database.read(primary=True) as conn:
                        self.backlog[shard] = await outbox.backlog(conn)
                    OUTBOX_BACKLOG.set(sum(self.backlog.values()))
                    gauge_due = time.monotonic() + self.settings.outbox_gauge_interval_seconds
                failures, self.health[shard] = 0, True
                if sent < self.settings.relay_batch_size:
                    await _sleep_or_stop(stop, self.settings.relay_poll_interval_ms / 1000)
            except Exception as exc:
                failures += 1
                self.health[shard] = False
                log.warning("relay attempt %d on shard %s failed, rows stay in the outbox: %r", failures, shard, exc)
                await self._reset_producer(shard)
                await _sleep_or_stop(stop, service.backoff_seconds(self.settings, failures))
        await self._reset_producer(shard)

    async def _reset_producer(self, shard: str) -> None:
        # A fresh producer after an error: aiokafka does not always recover a failed start.
        producer = self.producers.pop(shard, None)
        if producer is not None:
            await stop_producer(producer, self.settings.relay_delivery_timeout_ms / 1000)


async def stop_producer(producer: AIOKafkaProducer, timeout: float) -> None:
    """Stop within `timeout`. An idempotent producer's stop() flushes, and retries forever while
    the broker is away; past the timeout its unsent batches are dropped. Their rows were never
    marked published, so the next producer sends them again (consumers dedupe by event id)."""
    try:
        await asyncio.wait_for(producer.stop(), timeout)
    except TimeoutError:
        log.warning("producer did not flush within %.0fs; unsent rows stay in the outbox", timeout)
        sender = producer._sender.sender_task  # aiokafka has no public way to abandon a flush
        if sender is not None:
            sender.cancel()
        with contextlib.suppress(Exception):
            await producer.client.close()
    except Exception as exc:
        log.debug("ignoring error while stopping the producer: %r", exc)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _main(settings: Settings) -> None:
    shards = Shards(settings)
    await shards.check_at_start()
    relay = Relay(settings, shards)

    async def ready() -> bool:
        return relay.healthy

    try:
        await service.run(settings, relay.run, ready)
    finally:
        await shards.dispose()


def main(settings: Settings) -> None:
    asyncio.run(_main(settings))
