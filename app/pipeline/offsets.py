"""What a worker does when its position is not in the partition's log.

The consumer runs with `auto_offset_reset="none"`, so the client never repositions silently;
this module decides instead, in the open:

- **No committed offset** (a new group, or a topic deleted and recreated, which deletes the
  group's offsets for it): start from the beginning. Normal; logged at info.
- **Offset out of range** (the committed or current position is past the end of the log, or
  before its start after retention): logged as an error naming the group, topic, partition and
  offset, counted in `kafka_offset_resets_total`, then `APP_CONSUMER_OFFSET_RESET_POLICY`:
  `earliest` (the default: re-reading is safe, the inbox turns every event already applied into
  a duplicate), `latest` (skip to the end: events in between are never applied), or `fail`
  (raise: the process exits and stays in a crash loop until an operator sets the offsets).
- **A position past the partition's end** seen while measuring lag (a negative lag) is treated
  the same way, so a worker never sits silently beyond the end of a partition.
"""

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import NoOffsetForPartitionError, OffsetOutOfRangeError

from app.core.metrics import OFFSET_RESETS
from app.core.settings import Settings

log = logging.getLogger(__name__)
Batches = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


class OffsetPolicyFailed(RuntimeError):
    """The policy is `fail` and a position was outside the log: an operator has to decide."""


async def reposition(
    consumer: AIOKafkaConsumer, settings: Settings, group: str, partition: TopicPartition, offset: int, why: str
) -> None:
    """Apply the configured policy to one partition whose position `offset` is outside its log."""
    policy = settings.consumer_offset_reset_policy
    OFFSET_RESETS.labels(group, partition.topic, str(partition.partition), policy).inc()
    log.error(
        "consumer group %s: offset %d %s for topic %s partition %d; policy %s",
        group,
        offset,
        why,
        partition.topic,
        partition.partition,
        policy,
        extra={"topic": partition.topic, "partition": partition.partition, "offset": offset},
    )
    if policy == "fail":
        raise OffsetPolicyFailed(f"offset {offset} {why} for {partition.topic}[{partition.partition}] in group {group}")
    if policy == "latest":
        await consumer.seek_to_end(partition)
    else:
        await consumer.seek_to_beginning(partition)


async def poll(consumer: AIOKafkaConsumer, settings: Settings, group: str, **kwargs: Any) -> Batches:
    """`consumer.getmany(**kwargs)`, with positions outside the log handled by the policy.

    aiokafka raises these errors from the poll and keeps the partition where it was, so the next
    poll would raise again; repositioning first lets the following poll fetch."""
    try:
        batches: Batches = await consumer.getmany(**kwargs)
        return batches
    except OffsetOutOfRangeError as exc:
        positions: dict[TopicPartition, int] = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        for partition, offset in positions.items():
            await reposition(consumer, settings, group, partition, offset, "is out of range")
    except NoOffsetForPartitionError as exc:
        for partition in exc.args:
            if isinstance(partition, TopicPartition):
                log.info("group %s has no committed offset for %s; starting from the beginning", group, partition)
                await consumer.seek_to_beginning(partition)
    return {}


async def check_position(
    consumer: AIOKafkaConsumer, settings: Settings, group: str, partition: TopicPartition, end: int, position: int
) -> None:
    """A position beyond the partition's end (negative lag) is out of range too."""
    if position > end:
        await reposition(consumer, settings, group, partition, position, f"is past the partition's end {end}")
