"""Every fault of `make chaos`, short: no order lost, doubled or stuck.

One stack for the module (own PostgreSQL with a streaming replica, own Redis, a Kafka broker, the
API, the relay and the workers as subprocesses); each fault gets a product and orders of its own.
"""

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from app.dev import chaos, ledger
from app.dev.stack import Stack

ORDERS = 30
CONCURRENCY = 4
FAULTS = [
    "broker kill -9 and restart",
    "worker kill -9 (payment)",
    "worker member added and removed (inventory)",
    "PostgreSQL restart (fast)",
    "Redis down 3 s",
    "read replica down 3 s",
    "API SIGTERM and restart",
]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with Stack() as running:
        yield running


def test_the_fault_list_is_the_one_make_chaos_runs(stack: Stack) -> None:
    assert list(chaos.faults(stack)) == FAULTS


@pytest.mark.parametrize("fault", FAULTS)
def test_no_order_lost_doubled_or_stuck_under(stack: Stack, fault: str) -> None:
    result = asyncio.run(chaos.run_fault(stack, fault, chaos.faults(stack)[fault], ORDERS, CONCURRENCY))
    counted = result.count
    assert counted.accepted >= ORDERS, f"{fault}: only {counted.accepted} of {ORDERS} orders accepted"
    assert (counted.lost, counted.doubled, counted.stuck) == (0, 0, 0), f"{fault}: {counted}"
    assert counted.final == counted.accepted


def test_the_ledger_counts_a_doubled_notification_and_a_missing_shipment(stack: Stack) -> None:
    """The counting itself can fail: a second notification is a double, a fulfilled order
    without its shipment is a loss."""
    result = asyncio.run(chaos.run_fault(stack, "no fault", lambda _: None, 4, 2))
    assert (result.count.lost, result.count.doubled) == (0, 0)
    dsn = f"postgresql://postgres@127.0.0.1:{stack.pg.port}/orders"

    async def tamper_and_count() -> ledger.Count:
        conn = await asyncpg.connect(dsn)
        try:
            sku = await conn.fetchval(
                "SELECT sku FROM products WHERE sku LIKE 'CHAOS-%' ORDER BY updated_at DESC LIMIT 1"
            )
            rows = await conn.fetch(
                "SELECT o.id, o.idempotency_key FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.sku = $1",
                sku,
            )
            first, second = rows[0]["id"], rows[1]["id"]
            await conn.execute(
                "INSERT INTO notifications (order_id, kind, recipient, subject) "
                "SELECT order_id, kind, recipient, subject FROM notifications WHERE order_id = $1 LIMIT 1",
                first,
            )
            await conn.execute("DELETE FROM shipments WHERE order_id = $1", second)
        finally:
            await conn.close()
        keys = {row["idempotency_key"] for row in rows}
        accepted = {uuid.UUID(str(row["id"])) for row in rows}
        return await ledger.count(dsn, sku, chaos.INITIAL_STOCK, keys, accepted)

    tampered = asyncio.run(tamper_and_count())
    assert (tampered.doubled, tampered.lost) == (1, 1)
