"""`python -m app payment`: charge OrderPlaced through a simulated provider."""

import asyncio
import functools
import hashlib
import uuid

from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.settings import Settings
from app.pipeline import worker
from app.pipeline.events import Envelope, OrderPlaced, PaymentFailed, PaymentProcessed
from app.store import orders, outbox
from app.store.cache import order_key


class PaymentProvider:
    """Stands in for a card processor. The decision is a pure function of the order id, like a
    real provider called with an idempotency key: a retried charge gets the same answer."""

    def __init__(self, *, latency_ms: int, failure_rate: float) -> None:
        self.latency_ms = latency_ms
        self.failure_rate = failure_rate

    async def charge(self, order_id: uuid.UUID, amount_cents: int) -> bool:
        await asyncio.sleep(self.latency_ms / 1000)
        draw = int(hashlib.sha256(order_id.bytes).hexdigest()[:8], 16) / 0xFFFFFFFF
        return draw >= self.failure_rate


def spec(settings: Settings) -> worker.WorkerSpec:
    provider = PaymentProvider(latency_ms=settings.payment_latency_ms, failure_rate=settings.payment_failure_rate)

    async def record(conn: AsyncConnection, envelope: Envelope, *, approved: bool) -> list[str]:
        placed = envelope.event
        assert isinstance(placed, OrderPlaced)
        if approved:
            await orders.transition(conn, envelope.order_id, source=orders.PENDING, target=orders.PAID)
            outcome: PaymentProcessed | PaymentFailed = PaymentProcessed(
                customer_id=placed.customer_id,
                payment_id=uuid.uuid4(),
                amount_cents=placed.total_cents,
                currency=placed.currency,
                items=placed.items,
            )
        else:
            reason = "card declined"
            await orders.transition(
                conn,
                envelope.order_id,
                source=orders.PENDING,
                target=orders.PAYMENT_FAILED,
                reason=reason,
            )
            outcome = PaymentFailed(customer_id=placed.customer_id, reason=reason)
        await outbox.add(conn, settings.topic_payments, envelope.follow(outcome))
        return [order_key(envelope.order_id)]

    async def charge(envelope: Envelope) -> bool:
        assert isinstance(envelope.event, OrderPlaced)
        return await provider.charge(envelope.order_id, envelope.event.total_cents)

    async def handle(conn: AsyncConnection, envelope: Envelope) -> list[str]:
        return await record(conn, envelope, approved=await charge(envelope))

    async def prepare(envelope: Envelope) -> worker.Handler:
        # The provider's latency is spent before the transaction, not holding a connection.
        return functools.partial(record, approved=await charge(envelope))

    return worker.WorkerSpec(
        name="payment",
        prepare=prepare,
        topics=[settings.topic_orders],
        accepts=frozenset({"OrderPlaced"}),
        handle=handle,
        cache_keys=lambda envelope: [order_key(envelope.order_id)],
    )


def main(settings: Settings) -> None:
    asyncio.run(worker.serve(settings, spec(settings)))
