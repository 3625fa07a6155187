"""`python -m app inventory`: reserve stock for paid orders; never below zero."""

import asyncio

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.settings import Settings
from app.pipeline import worker
from app.pipeline.events import Envelope, InventoryUpdated, OutOfStock, PaymentProcessed
from app.store import orders, outbox
from app.store.cache import PRODUCT_LIST_KEY, order_key, product_key
from app.store.tables import products


class _Short(Exception):
    def __init__(self, sku: str) -> None:
        super().__init__(sku)
        self.sku = sku


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


def spec(settings: Settings) -> worker.WorkerSpec:
    async def handle(conn: AsyncConnection, envelope: Envelope) -> list[str]:
        payment = envelope.event
        assert isinstance(payment, PaymentProcessed)
        try:
            await _reserve(conn, payment)
        except _Short as short:
            await orders.transition(
                conn,
                envelope.order_id,
                source=orders.PAID,
                target=orders.OUT_OF_STOCK,
                reason=f"not enough stock for {short.sku}",
            )
            event = Envelope(order_id=envelope.order_id, event=OutOfStock(sku=short.sku))
            await outbox.add(conn, settings.topic_inventory, event)
            return [order_key(envelope.order_id)]
        await orders.transition(conn, envelope.order_id, source=orders.PAID, target=orders.RESERVED)
        reserved = Envelope(order_id=envelope.order_id, event=InventoryUpdated(items=payment.items))
        await outbox.add(conn, settings.topic_inventory, reserved)
        return [order_key(envelope.order_id), PRODUCT_LIST_KEY, *(product_key(line.sku) for line in payment.items)]

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
        cache_keys=cache_keys,
    )


def main(settings: Settings) -> None:
    asyncio.run(worker.serve(settings, spec(settings)))
