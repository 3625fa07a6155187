"""The consumer loop around `Worker.process`: polling, stop, revoked partitions, commit failures.

The loop runs against a fake consumer, so the order of polls, completions and commits is
exact; test_worker_concurrency.py runs the same loop against the real broker and database.
The infrastructure-retry case runs against a real, unreachable, database.
"""

import asyncio
import uuid
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from app.core.settings import Settings
from app.dev.localbroker import free_port
from app.pipeline import payment
from app.pipeline import worker as worker_module
from app.pipeline.events import Envelope, Line, OrderPlaced
from app.pipeline.worker import COMMIT_INTERVAL_SECONDS, Worker
from app.store.db import Database
from tests.app.helpers import envelope_record, record

pytestmark = pytest.mark.asyncio
TOPIC = "orders"
P0 = TopicPartition(TOPIC, 0)
OFFLINE = Settings(db_writer_url="postgresql+asyncpg://x@127.0.0.1/db", consumer_max_records=7)


class FakeConsumer:
    """Serves the given batches one poll at a time, then sets `stop` (a SIGTERM)."""

    def __init__(self, batches: list[dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]], stop: asyncio.Event):
        self.batches = batches
        self.stop = stop
        self.assigned = {P0}
        self.commits: list[dict[TopicPartition, int]] = []
        self.commit_errors: list[Exception] = []
        self.polls: list[dict[str, Any]] = []

    async def getmany(self, *partitions: TopicPartition, **kwargs: Any) -> Any:
        self.polls.append(kwargs)
        await asyncio.sleep(0.01)  # a real poll waits on the network; records in flight move on
        if not self.batches:
            self.stop.set()
            return {}
        return self.batches.pop(0)

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.commit_errors:
            raise self.commit_errors.pop(0)
        self.commits.append(offsets)

    def highwater(self, partition: TopicPartition) -> int | None:
        return None


def _records(count: int) -> list[ConsumerRecord[bytes, bytes]]:
    return [record(TOPIC, b"{}", offset=offset) for offset in range(count)]


def _worker(settings: Settings = OFFLINE, database: Any = None) -> tuple[Worker, list[int]]:
    """A worker whose `process` only records the offsets it was given."""
    worker = Worker(payment.spec(settings), settings, database, cast(Any, None), cast(Any, None))
    seen: list[int] = []

    async def process(rec: ConsumerRecord[bytes, bytes]) -> str:
        seen.append(rec.offset)
        return "processed"

    worker.process = process  # type: ignore[method-assign, assignment]
    return worker, seen


async def _run(worker: Worker, consumer: FakeConsumer) -> None:
    await asyncio.wait_for(worker.run(cast(AIOKafkaConsumer, consumer), consumer.stop), timeout=5)


async def test_poll_asks_for_at_most_the_configured_number_of_records() -> None:
    worker, _ = _worker()
    consumer = FakeConsumer([], asyncio.Event())
    await _run(worker, consumer)
    assert consumer.polls[0]["max_records"] == 7


async def test_records_of_a_revoked_partition_are_neither_processed_nor_committed() -> None:
    worker, seen = _worker()
    consumer = FakeConsumer([{P0: _records(3)}], asyncio.Event())
    consumer.assigned = set()
    await _run(worker, consumer)
    assert (seen, consumer.commits) == ([], [])


@pytest.mark.parametrize("error", [CommitFailedError("rebalanced"), IllegalStateError("not assigned")])
async def test_a_failed_offset_commit_does_not_stop_the_worker(error: Exception, monkeypatch: Any) -> None:
    monkeypatch.setattr(worker_module, "COMMIT_INTERVAL_SECONDS", 0.0)  # a commit attempt every poll
    worker, seen = _worker()
    consumer = FakeConsumer([{P0: _records(2)}, {P0: [record(TOPIC, b"{}", offset=2)]}], asyncio.Event())
    consumer.commit_errors = [error]
    await _run(worker, consumer)
    assert seen == [0, 1, 2]
    assert consumer.commits == [{P0: 3}]


async def test_stop_drains_the_records_already_taken_and_commits_them() -> None:
    stop = asyncio.Event()
    worker, seen = _worker()
    processed = worker.process

    async def process_then_sigterm(rec: ConsumerRecord[bytes, bytes]) -> str:
        stop.set()
        return await processed(rec)

    worker.process = process_then_sigterm  # type: ignore[method-assign, assignment]
    consumer = FakeConsumer([{P0: _records(3)}, {P0: [record(TOPIC, b"{}", offset=3)]}], stop)
    await _run(worker, consumer)
    assert seen == [0, 1, 2]
    assert consumer.commits[-1] == {P0: 3}


async def test_poll_asks_for_no_more_records_than_free_lanes() -> None:
    settings = OFFLINE.model_copy(update={"consumer_concurrency": 3})
    worker, _ = _worker(settings)
    gate = asyncio.Event()

    async def blocked(rec: ConsumerRecord[bytes, bytes]) -> str:
        await gate.wait()
        return "processed"

    worker.process = blocked  # type: ignore[method-assign, assignment]
    keyed = [record(TOPIC, b"{}", offset=n, key=str(n).encode()) for n in range(2)]
    consumer = FakeConsumer([{P0: keyed}, {}], asyncio.Event())
    running = asyncio.create_task(_run(worker, consumer))
    await asyncio.sleep(0.1)
    gate.set()
    await running
    assert [poll["max_records"] for poll in consumer.polls[:2]] == [3, 1]


async def test_offset_commit_waits_for_the_lowest_unfinished_record() -> None:
    worker, _ = _worker()
    gates = {offset: asyncio.Event() for offset in range(3)}
    finished: list[int] = []

    async def gated(rec: ConsumerRecord[bytes, bytes]) -> str:
        await gates[rec.offset].wait()
        finished.append(rec.offset)
        return "processed"

    worker.process = gated  # type: ignore[method-assign, assignment]
    # Three orders (keys), so the three records run at once and can finish in any order.
    keyed = [record(TOPIC, b"{}", offset=n, key=f"order-{n}".encode()) for n in range(3)]
    stop = asyncio.Event()
    consumer = FakeConsumer([{P0: keyed}], stop)
    consumer.getmany = _idle_poll(consumer)  # type: ignore[method-assign]
    running = asyncio.create_task(worker.run(cast(AIOKafkaConsumer, consumer), stop))
    gates[0].set()
    gates[2].set()
    await _until(lambda: finished == [0, 2] and bool(consumer.commits))
    await asyncio.sleep(0.1)
    assert consumer.commits == [{P0: 1}], "committed past record 1, which is still running"
    gates[1].set()
    await _until(lambda: consumer.commits[-1] == {P0: 3})
    stop.set()
    await asyncio.wait_for(running, timeout=5)


def _idle_poll(consumer: FakeConsumer) -> Any:
    """Serves the batches, then polls that find nothing (stop comes from the test)."""
    original = consumer.getmany

    async def getmany(*partitions: TopicPartition, **kwargs: Any) -> Any:
        if consumer.batches:
            return await original(*partitions, **kwargs)
        await asyncio.sleep(0.01)
        return {}

    return getmany


async def _until(check: Any, within: float = 5.0) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), within)


def _placed() -> Envelope:
    items = [Line(sku="SKU-0001", quantity=1, unit_price_cents=100)]
    event = OrderPlaced(customer_id="cust-0001", currency="EUR", total_cents=100, items=items)
    return Envelope(order_id=uuid.uuid4(), event=event)


async def test_stop_ends_the_infrastructure_retry_loop_while_the_database_is_down() -> None:
    down = OFFLINE.model_copy(
        update={
            "db_writer_url": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere",
            "db_ssl": "disable",
            "consumer_backoff_max_ms": 50,
        }
    )
    database = Database(down)
    worker = Worker(payment.spec(down), down, database, cast(Any, None), cast(Any, None))
    try:
        retrying = asyncio.create_task(worker.process(envelope_record(TOPIC, _placed())))
        await asyncio.sleep(0.3)
        assert not retrying.done()
        worker.stop.set()
        assert await asyncio.wait_for(retrying, timeout=2) == "interrupted"
    finally:
        await database.dispose()


async def test_offsets_are_committed_once_per_interval_not_once_per_poll() -> None:
    worker, seen = _worker()
    # One record per poll, each poll ~10 ms: a commit per poll would be 30 commits.
    stop = asyncio.Event()
    consumer = FakeConsumer([{P0: [record(TOPIC, b"{}", offset=n)]} for n in range(30)], stop)
    began = asyncio.get_running_loop().time()
    await _run(worker, consumer)
    elapsed = asyncio.get_running_loop().time() - began
    assert seen == list(range(30))
    assert consumer.commits[-1] == {P0: 30}, "the drain on stop commits everything finished"
    assert len(consumer.commits) <= 2 + elapsed / COMMIT_INTERVAL_SECONDS, consumer.commits
