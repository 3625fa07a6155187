"""The consumer runtime every worker shares.

Per event: one database transaction that claims the (consumer, event_id) inbox row, runs the
handler (state changes plus follow-on outbox rows) and commits; only then is the Kafka offset
committed. Up to `consumer_concurrency` records are in flight at once, one lane per order key
(app/pipeline/lanes.py), and a partition's offset never passes its lowest unfinished record. A redelivered event finds its inbox row and changes nothing. A malformed event, or
one that keeps failing after bounded retries with backoff, goes to `<topic>.dlq` with the error
in its headers, and the partition moves on.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core import service
from app.core.logs import log_context
from app.core.metrics import CONSUMER_LAG, EVENTS
from app.core.settings import Settings
from app.pipeline import offsets
from app.pipeline.events import Envelope, decode
from app.pipeline.kafka import dlq, make_consumer, make_producer
from app.pipeline.lanes import INTERRUPTED, Lanes
from app.store.cache import Cache, make_redis
from app.store.db import Database
from app.store.overlay import is_fenced
from app.store.routing import MissingCustomer, Shards
from app.store.tables import inbox

log = logging.getLogger(__name__)

# A handler applies one event inside the caller's transaction; returns cache keys to invalidate.
Handler = Callable[[AsyncConnection, Envelope], Awaitable[list[str]]]
# Applies one event in transactions of its own (None: a duplicate); for work spanning shards.
Apply = Callable[[Shards, Envelope], Awaitable[list[str] | None]]
ERROR_MESSAGE_LIMIT = 1000
POLL_TIMEOUT_MS = 500
BUSY_POLL_TIMEOUT_MS = 20
# On SIGTERM, in-flight records get this long to finish (well inside the pod's grace period).
DRAIN_SECONDS = 20.0
# On a rebalance, the revoked partitions' records get this long before the group moves on.
REVOKE_DRAIN_SECONDS = 10.0
# Readiness: a consumer loop that has not polled for this long is stuck.
STALL_SECONDS = 60.0
# Finished offsets are committed at most this often (and always on a rebalance and on stop): one
# OffsetCommit per poll cost the worker and the broker more CPU than the records at full load,
# and a crash only redelivers this much more, which the inbox turns into duplicates.
COMMIT_INTERVAL_SECONDS = 0.2
# Consumer lag is a gauge for dashboards and KEDA's view is the broker's: once a second will do.
LAG_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerSpec:
    name: str
    """Process name, consumer group id (after the prefix) and inbox consumer key."""
    topics: list[str]
    accepts: frozenset[str]
    """Event types handled; others on the same topic are skipped (and committed)."""
    handle: Handler
    cache_keys: Callable[[Envelope], list[str]] = lambda _: []
    """Every cache key the event can affect (a superset of what `handle` returns). A redelivery
    of an event already applied invalidates these again: the first delivery may have committed
    and then died, or met Redis away, before its invalidation. Invalidation is idempotent."""
    prepare: Callable[[Envelope], Awaitable[Handler]] | None = None
    """Work done before the transaction, e.g. a remote call that must not hold a database
    connection while it waits; returns the handler to run inside it. None: just `handle`.
    Runs again on a redelivery, so it must be idempotent (a charge with an idempotency key)."""
    apply: Apply | None = None
    """Replaces the one transaction (inbox claim + `handle`) on the event's shard: for work that
    spans shards as a saga of local transactions, each claiming its own inbox row (inventory).
    None: the default transaction on `Shards.for_event`."""


# SQLSTATEs of a database that is away, not of a bad event: connection exceptions (class 08),
# insufficient resources (53, e.g. too many connections), operator intervention (57P: admin or
# crash shutdown, cannot connect now) and a read-only transaction (25006: the old writer after
# a failover, until DNS moves).
TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P", "25006")


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of the driver error, wherever the wrapping put it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str):
            return state
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return None


def is_transient(exc: Exception) -> bool:
    """Infrastructure failures: retried without limit, since dead-lettering cannot help them."""
    if isinstance(exc, (OSError, sa_exc.TimeoutError, sa_exc.InterfaceError)):
        # OSError covers ConnectionError and TimeoutError; SQLAlchemy's TimeoutError is a pool
        # checkout that found no connection.
        return True
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated or isinstance(exc.orig, OSError)):
        return True
    if is_fenced(exc):
        # The customer is being moved between shards: its writes resume once routing flips.
        return True
    state = _sqlstate(exc)
    return state is not None and state.startswith(TRANSIENT_SQLSTATE_PREFIXES)


async def claim(conn: AsyncConnection, consumer: str, event_id: object) -> bool:
    """Insert the (consumer, event_id) inbox row in the caller's transaction; False: already
    there (a duplicate). A concurrent claim waits on the key until this transaction ends."""
    claimed = await conn.execute(
        pg_insert(inbox)
        .values(consumer=consumer, event_id=event_id)
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
    )
    return claimed.first() is not None


class Worker:
    def __init__(
        self,
        spec: WorkerSpec,
        settings: Settings,
        database: Database | Shards,
        cache: Cache,
        producer: AIOKafkaProducer,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.database = database
        self._shards = database if isinstance(database, Shards) else None
        self.cache = cache
        self.producer = producer
        self.last_poll = 0.0
        self._last_commit = 0.0
        self._last_lag = 0.0
        self.stop = asyncio.Event()
        """Set on SIGTERM (`run` uses the caller's event): retries give up, the loop returns."""
        self.lanes = Lanes(lambda record: self.process(record))

    @property
    def shards(self) -> Shards:
        """Every shard; a single `Database` is the one shard (built on first use)."""
        if self._shards is None:
            assert isinstance(self.database, Database)
            self._shards = Shards.of(self.database)
        return self._shards

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> str:
        """Handle one record; returns the outcome (also counted in events_processed_total)."""
        outcome = await self._process(record)
        EVENTS.labels(self.spec.name, outcome).inc()
        return outcome

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> str:
        try:
            envelope = decode(record.value)
        except ValidationError as exc:
            # Retrying cannot fix a malformed event.
            await self._dead_letter(record, exc, attempts=1)
            return "dead_lettered"
        if envelope.type not in self.spec.accepts:
            return "skipped"
        try:
            self.shards.for_event(envelope)
        except MissingCustomer as exc:
            await self._dead_letter(record, exc, attempts=1)
            return "dead_lettered"
        with log_context(order_id=envelope.order_id, event_id=envelope.event_id):
            attempt = 0
            while True:
                attempt += 1
                try:
                    keys = await self._apply(envelope)
                    break
                except Exception as exc:
                    if is_transient(exc):
                        attempt -= 1
                        log.warning("infrastructure error, retrying: %r", exc)
                        if await self._stopped_during(self.settings.consumer_backoff_max_ms / 1000):
                            # Not committed: the next owner of the partition gets it again.
                            log.info("stopping while the infrastructure is down")
                            return INTERRUPTED
                        continue
                    if attempt >= self.settings.consumer_max_attempts:
                        log.error("giving up after %d attempts: %r", attempt, exc)
                        await self._dead_letter(record, exc, attempts=attempt)
                        return "dead_lettered"
                    log.warning("attempt %d failed: %r", attempt, exc)
                    if await self._stopped_during(service.backoff_seconds(self.settings, attempt)):
                        return INTERRUPTED
            if keys is None:
                log.info("duplicate event ignored")
                await self.cache.invalidate(*self.spec.cache_keys(envelope))
                return "duplicate"
            await self.cache.invalidate(*keys)
            log.info("%s handled", envelope.type)
            return "processed"

    async def _stopped_during(self, seconds: float) -> bool:
        """Sleep, waking early on stop; True if stopping."""
        if not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        return self.stop.is_set()

    async def _apply(self, envelope: Envelope) -> list[str] | None:
        if self.spec.apply is not None:
            return await self.spec.apply(self.shards, envelope)
        handle = self.spec.handle if self.spec.prepare is None else await self.spec.prepare(envelope)
        # The order's shard: its inbox row, state change and follow-on outbox rows commit together.
        async with self.shards.for_event(envelope).write() as conn:
            if not await claim(conn, self.spec.name, envelope.event_id):
                return None
            return await handle(conn, envelope)

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], exc: Exception, *, attempts: int) -> None:
        headers = [
            *record.headers,
            ("error-type", type(exc).__name__.encode()),
            ("error-message", str(exc)[:ERROR_MESSAGE_LIMIT].encode()),
            ("original-topic", record.topic.encode()),
            ("original-partition", str(record.partition).encode()),
            ("original-offset", str(record.offset).encode()),
            ("consumer", self.spec.name.encode()),
            ("attempts", str(attempts).encode()),
            ("failed-at", datetime.now(UTC).isoformat().encode()),
        ]
        await self.producer.send_and_wait(dlq(record.topic), record.value, key=record.key, headers=headers)

    async def run(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        """Poll while fewer than `consumer_concurrency` records are in flight; on stop, drain."""
        self.stop = stop
        group = self.settings.group_id(self.spec.name)
        lanes = self.lanes
        while not stop.is_set():
            self.last_poll = time.monotonic()
            room = self.settings.consumer_concurrency - len(lanes)
            if room <= 0:
                await self._until_changed(POLL_TIMEOUT_MS / 1000)
            else:
                # With records in flight, poll briefly: finished ones should be committed soon.
                timeout = BUSY_POLL_TIMEOUT_MS if len(lanes) else POLL_TIMEOUT_MS
                batches = await offsets.poll(
                    consumer,
                    self.settings,
                    group,
                    timeout_ms=timeout,
                    max_records=min(self.settings.consumer_max_records, room),
                )
                for partition, records in batches.items():
                    for record in records:
                        # Revoked by a rebalance since the poll: the new owner processes it.
                        if stop.is_set() or partition not in consumer.assignment():
                            break
                        lanes.start(record)
            now = time.monotonic()
            if now - self._last_commit >= COMMIT_INTERVAL_SECONDS:
                self._last_commit = now
                await self._commit_finished(consumer)
            if now - self._last_lag >= LAG_INTERVAL_SECONDS:
                self._last_lag = now
                await self._export_lag(consumer, group)
        # Draining: records already taken finish (retry loops give up on stop), then commit.
        await lanes.wait(timeout=DRAIN_SECONDS)
        await self._commit_finished(consumer)

    async def _until_changed(self, timeout: float) -> None:
        self.lanes.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.lanes.changed.wait(), timeout)

    async def release(self, consumer: AIOKafkaConsumer, revoked: set[TopicPartition]) -> None:
        """Before a rebalance takes partitions away: let their records finish (bounded), commit
        what is finished, and forget the rest (the new owner gets it again; the inbox dedupes)."""
        await self.lanes.wait(revoked, timeout=REVOKE_DRAIN_SECONDS)
        await self._commit_finished(consumer, revoked)
        self.lanes.forget(revoked)

    async def _commit_finished(self, consumer: AIOKafkaConsumer, only: set[TopicPartition] | None = None) -> None:
        """Commit, per partition, up to the lowest record still unfinished. After the database
        commits: a crash before this means redelivery, which the inbox turns into duplicates."""
        assigned = consumer.assignment()
        commits: dict[TopicPartition, int] = {}
        for partition, progress in self.lanes.progress.items():
            if partition not in assigned or (only is not None and partition not in only):
                continue
            offset = progress.committable()
            if offset is not None and offset != progress.committed:
                commits[partition] = offset
        if commits and await self._commit(consumer, commits):
            for partition, offset in commits.items():
                self.lanes.progress[partition].committed = offset

    async def _export_lag(self, consumer: AIOKafkaConsumer, group: str) -> None:
        for partition in consumer.assignment():
            end = consumer.highwater(partition)
            if end is not None:
                position = await consumer.position(partition)
                CONSUMER_LAG.labels(group, partition.topic, str(partition.partition)).set(end - position)
                await offsets.check_position(consumer, self.settings, group, partition, end, position)

    @staticmethod
    async def _commit(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> bool:
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # A rebalance took the partition: its new owner gets these records again, and the
            # inbox turns them into duplicates.
            log.warning("offset commit failed, the records will be redelivered: %r", exc)
            return False
        return True

    def ready(self) -> bool:
        return time.monotonic() - self.last_poll < STALL_SECONDS


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Drains and commits the partitions a rebalance takes away, before the group moves on."""

    def __init__(self, worker: Worker, consumer: AIOKafkaConsumer) -> None:
        self.worker = worker
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.worker.release(self.consumer, set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Nothing to do: positions come from the committed offsets."""


async def serve(settings: Settings, spec: WorkerSpec) -> None:
    """Run one worker process until SIGTERM."""
    shards = Shards(settings)
    await shards.check_at_start()
    redis = make_redis(settings)
    producer = make_producer(settings)
    consumer = make_consumer(settings, spec.name, spec.topics)
    worker = Worker(spec, settings, shards, Cache(settings, redis), producer)
    consumer.subscribe(spec.topics, listener=Rebalance(worker, consumer))

    async def ready() -> bool:
        return worker.ready()

    async def body(stop: asyncio.Event) -> None:
        await producer.start()
        await consumer.start()
        try:
            await worker.run(consumer, stop)
        finally:
            await consumer.stop()
            await producer.stop()

    try:
        await service.run(settings, body, ready)
    finally:
        await redis.aclose()
        await shards.dispose()
