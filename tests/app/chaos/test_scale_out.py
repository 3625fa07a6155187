"""Scale-out: three replicas of each worker in one consumer group per kind, under load, with one
payment member killed with -9 (it never leaves the group: the coordinator has to time it out)
and a new member added mid-run. Every order reaches `fulfilled` once: no effect missing or doubled
(one payment event, one shipment, one notification of each kind, stock taken once per order)."""

import asyncio
import signal
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from app.dev import chaos, ledger
from app.dev.stack import Stack

ORDERS = 60


def _kill_one_of_three_and_add_one(stack: Stack) -> None:
    members = stack.names("payment")
    assert len(members) == 3, members
    stack.signal(members[0], signal.SIGKILL)
    time.sleep(2)
    stack.start("payment")


def test_three_replicas_per_worker_with_a_member_killed_and_one_added_lose_and_double_nothing() -> None:
    with Stack(workers_per_kind=3) as stack:
        result = asyncio.run(chaos.run_fault(stack, "scale-out", _kill_one_of_three_and_add_one, ORDERS, 6))
        assert len(stack.names("payment")) == 3
        diagnosis = asyncio.run(_diagnose(stack)) if result.count.stuck else ""
    counted = result.count
    assert counted.accepted >= ORDERS
    assert (counted.lost, counted.doubled, counted.stuck) == (0, 0, 0), f"{counted}\n{diagnosis}"


async def _diagnose(stack: Stack) -> str:
    """Where the stuck orders wait: their statuses, and each group's committed offset against the
    end of every partition it reads (a partition nobody moves shows lag that never shrinks)."""
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.pg.port}/orders")
    try:
        statuses = await conn.fetch(
            "SELECT status, count(*) AS n FROM orders WHERE status <> $1 GROUP BY status", ledger.FINAL
        )
    finally:
        await conn.close()
    lines = ["stuck orders by status: " + ", ".join(f"{row['status']} {row['n']}" for row in statuses)]
    bootstrap = stack.env["APP_KAFKA_BOOTSTRAP_SERVERS"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await probe.start()
    try:
        for group in ("payment", "inventory", "notification", "fulfillment"):
            committed: dict[TopicPartition, int] = {
                tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
            }
            ends = await probe.end_offsets(list(committed)) if committed else {}
            lagging = [
                f"{tp.topic}[{tp.partition}] {committed[tp]}/{ends[tp]}"
                for tp in sorted(committed)
                if committed[tp] < ends[tp]
            ]
            lines.append(f"group {group}: committed/end where behind: {', '.join(lagging) or 'none'}")
    finally:
        await probe.stop()
        await admin.close()
    lines.append(f"process logs: {stack.logs}")
    return "\n".join(lines)
