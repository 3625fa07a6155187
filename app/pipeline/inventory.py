"""`python -m app inventory`: reserve stock for paid orders; never below zero.

Stock is global (home shard), the order is the customer's (its shard), so one event is a saga of
two local transactions, never a distributed one:

1. home shard: claim the inbox row ("inventory"), decrement every line's stock or none, and
   record the decision in `stock_reservations`;
2. the customer's shard: claim the inbox row ("inventory-order"), move the order to reserved or
   out_of_stock and write the follow-on event to that shard's outbox.

A crash (or a failed step 2) between them leaves the Kafka offset uncommitted, so the event comes
again: step 1 finds its inbox row, reads the recorded decision instead of deciding again (stock is
taken once), and step 2 completes. When the customer lives on the home shard (every customer,
with one shard) the two steps share one transaction instead.
"""

import asyncio
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.settings import Settings
from app.pipeline import worker
from app.pipeline.events import Envelope, InventoryUpdated, OutOfStock, PaymentProcessed
from app.store import orders, outbox
from app.store.cache import PRODUCT_LIST_KEY, order_key, product_key
from app.store.routing import Shards
from app.store.tables import products, stock_reservations

STOCK_CONSUMER = "inventory"
"""Inbox key of step 1 (home shard); the name the single-transaction worker always used."""
ORDER_CONSUMER = "inventory-order"
"""Inbox key of step 2 (the customer's shard)."""
RESERVED = "reserved"
SHORT = "short"


class _Short(Exception):
    def __init__(self, sku: str) -> None:
        super().__init__(sku)
        self.sku = sku


@dataclass(frozen=True)
class Decision:
    outcome: str
    """reserved or short."""
    sku: str | None = None
    """The line that was short."""


async def _reserve(conn: AsyncConnection, payment: PaymentProcessed) -> None:
    """All lines or none (savepoint). SKUs in sorted order so two orders cannot deadlock."""
    async with conn.begin_nested():
        for line in sorted(payment.items, key=lambda item: item.sku):
            # Conditional decrement: the row lock serialises buyers, the WHERE refuses oversell.
            result = await conn.execute(
                update(products)
                .where(products.c.sku == line.sku, products.c.stock >= line.quantity)
                .values(stock=products.c.stock - line.quantity, updated_at=func.now())
            )
            if result.rowcount != 1:
                raise _Short(line.sku)


async def decide(conn: AsyncConnection, envelope: Envelope, *, claim: bool = True) -> Decision | None:
    """Step 1, on the home shard: the stock decision for the order, taken at most once.

    None: the inbox row exists but no decision does, i.e. the event was applied whole by the
    single-transaction worker of before (order already moved): a plain duplicate."""
    payment = envelope.event
    assert isinstance(payment, PaymentProcessed)
    recorded = select(stock_reservations.c.outcome, stock_reservations.c.sku).where(
        stock_reservations.c.order_id == envelope.order_id
    )
    fresh = await worker.claim(conn, STOCK_CONSUMER, envelope.event_id) if claim else True
    if (found := (await conn.execute(recorded)).first()) is not None:
        return Decision(found.outcome, found.sku)
    if not fresh:
        return None
    try:
        await _reserve(conn, payment)
        decision = Decision(RESERVED)
    except _Short as short:
        decision = Decision(SHORT, short.sku)
    # The primary key also stops a second, different event for the same order from taking stock
    # twice: its insert fails, and its retry finds this decision.
    await conn.execute(
        insert(stock_reservations).values(order_id=envelope.order_id, outcome=decision.outcome, sku=decision.sku)
    )
    return decision


def spec(settings: Settings) -> worker.WorkerSpec:
    async def complete(conn: AsyncConnection, envelope: Envelope, decision: Decision) -> list[str]:
        """Step 2, on the customer's shard: the order follows the decision."""
        payment = envelope.event
        assert isinstance(payment, PaymentProcessed)
        if decision.outcome == SHORT:
            await orders.transition(
                conn,
                envelope.order_id,
                source=orders.PAID,
                target=orders.OUT_OF_STOCK,
                reason=f"not enough stock for {decision.sku}",
            )
            await outbox.add(conn, settings.topic_inventory, envelope.follow(OutOfStock(sku=str(decision.sku))))
            return [order_key(envelope.order_id)]
        await orders.transition(conn, envelope.order_id, source=orders.PAID, target=orders.RESERVED)
        await outbox.add(conn, settings.topic_inventory, envelope.follow(InventoryUpdated(items=payment.items)))
        return [order_key(envelope.order_id), PRODUCT_LIST_KEY, *(product_key(line.sku) for line in payment.items)]

    async def apply(shards: Shards, envelope: Envelope) -> list[str] | None:
        if shards.for_event(envelope) is shards.home:
            # The customer lives with the stock (every customer, with one shard): both steps in
            # one transaction, which is the saga's outcome without its second round of commits.
            async with shards.home.write() as conn:
                decision = await decide(conn, envelope)
                if decision is None or not await worker.claim(conn, ORDER_CONSUMER, envelope.event_id):
                    return None
                return await complete(conn, envelope, decision)
        async with shards.home.write() as conn:
            decision = await decide(conn, envelope)
        if decision is None:
            return None
        async with shards.for_event(envelope).write() as conn:
            if not await worker.claim(conn, ORDER_CONSUMER, envelope.event_id):
                return None
            return await complete(conn, envelope, decision)

    async def handle(conn: AsyncConnection, envelope: Envelope) -> list[str]:
        """Both steps in one transaction, for a caller that has one database and no inbox (the
        synchronous benchmark baseline); the worker itself runs `apply`."""
        decision = await decide(conn, envelope, claim=False)
        assert decision is not None
        return await complete(conn, envelope, decision)

    def cache_keys(envelope: Envelope) -> list[str]:
        assert isinstance(envelope.event, PaymentProcessed)
        return [
            order_key(envelope.order_id),
            PRODUCT_LIST_KEY,
            *(product_key(line.sku) for line in envelope.event.items),
        ]

    return worker.WorkerSpec(
        name="inventory",
        topics=[settings.topic_payments],
        accepts=frozenset({"PaymentProcessed"}),
        handle=handle,
        apply=apply,
        cache_keys=cache_keys,
    )


def main(settings: Settings) -> None:
    asyncio.run(worker.serve(settings, spec(settings)))
