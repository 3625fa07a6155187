"""Bounded concurrency inside a partition, with per-key order and safe offset commits.

Records of one partition are processed up to N at a time, but records with the same key (the
order id) run one after the other, in offset order: a lane per key. Completion is out of order
across lanes, so the committable offset of a partition is the lowest offset not yet finished:
a crash redelivers everything from there, and the inbox turns what was already applied into
duplicates. Nothing past an unfinished record is ever committed.
"""

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable

from aiokafka import ConsumerRecord, TopicPartition

# The outcome of a record that was not finished (stopping, or its partition revoked).
INTERRUPTED = "interrupted"


class PartitionProgress:
    """The offsets taken from one partition, in order, and which of them are finished."""

    def __init__(self) -> None:
        self._taken: deque[int] = deque()
        self._finished: set[int] = set()
        self._next: int | None = None
        self.committed: int | None = None
        """The last offset committed to Kafka for this partition by this consumer."""

    def take(self, offset: int) -> None:
        self._taken.append(offset)

    def finish(self, offset: int) -> None:
        self._finished.add(offset)

    def committable(self) -> int | None:
        """The offset to commit: just past the longest finished prefix (None: nothing yet)."""
        while self._taken and self._taken[0] in self._finished:
            offset = self._taken.popleft()
            self._finished.discard(offset)
            self._next = offset + 1
        return self._next


Process = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[str]]


class Lanes:
    """Runs records as tasks: one lane (a chain of tasks) per partition and key."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.progress: dict[TopicPartition, PartitionProgress] = {}
        self._tails: dict[tuple[TopicPartition, bytes | None], asyncio.Task[str]] = {}
        self._tasks: dict[TopicPartition, set[asyncio.Task[str]]] = {}
        self._revoked: set[TopicPartition] = set()
        self.changed = asyncio.Event()
        """Set whenever a record finishes, so a waiting loop can commit or poll again."""

    def __len__(self) -> int:
        return sum(len(tasks) for tasks in self._tasks.values())

    def start(self, record: ConsumerRecord[bytes, bytes]) -> None:
        partition = TopicPartition(record.topic, record.partition)
        self._revoked.discard(partition)
        progress = self.progress.setdefault(partition, PartitionProgress())
        progress.take(record.offset)
        lane = (partition, record.key)
        task = asyncio.create_task(self._run(self._tails.get(lane), partition, record, progress))
        self._tails[lane] = task
        self._tasks.setdefault(partition, set()).add(task)

        def done(finished: asyncio.Task[str]) -> None:
            self._tasks.get(partition, set()).discard(finished)
            if self._tails.get(lane) is finished:
                del self._tails[lane]
            self.changed.set()

        task.add_done_callback(done)

    async def _run(
        self,
        previous: asyncio.Task[str] | None,
        partition: TopicPartition,
        record: ConsumerRecord[bytes, bytes],
        progress: PartitionProgress,
    ) -> str:
        if previous is not None:
            # The earlier record of this key first; if it was not finished, neither is this one,
            # or the order's events would apply out of order on redelivery.
            try:
                if await asyncio.shield(previous) == INTERRUPTED:
                    return INTERRUPTED
            except asyncio.CancelledError:
                if not previous.cancelled():
                    raise
                return INTERRUPTED
        if partition in self._revoked:
            return INTERRUPTED
        outcome = await self.process(record)
        if outcome != INTERRUPTED:
            progress.finish(record.offset)
        return outcome

    async def wait(self, partitions: set[TopicPartition] | None = None, timeout: float | None = None) -> None:
        """Wait until the records of `partitions` (default: all) are done, then cancel what is left."""
        tasks = {
            task
            for partition, running in self._tasks.items()
            if partitions is None or partition in partitions
            for task in running
        }
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def forget(self, partitions: set[TopicPartition]) -> None:
        """Drop the bookkeeping of partitions this consumer no longer owns."""
        for partition in partitions:
            self._revoked.add(partition)
            self.progress.pop(partition, None)
            self._tasks.pop(partition, None)
        for lane in [lane for lane in self._tails if lane[0] in partitions]:
            del self._tails[lane]
