"""`python -m app notification`: record the email a payment outcome would trigger.

Its own consumer group: a mail-provider outage backs up this worker only (retries, then DLQ),
never payment, inventory or fulfillment.
"""

import asyncio
import logging
import random

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.settings import Settings
from app.pipeline import worker
from app.pipeline.events import Envelope, PaymentFailed, PaymentProcessed
from app.store.tables import notifications, users

log = logging.getLogger(__name__)


class ProviderUnavailable(Exception):
    """The simulated mail provider is down."""


class MailProvider:
    def __init__(self, *, failure_rate: float) -> None:
        self.failure_rate = failure_rate

    async def send(self, recipient: str, subject: str) -> None:
        if random.random() < self.failure_rate:
            raise ProviderUnavailable("mail provider returned 503")


def spec(settings: Settings) -> worker.WorkerSpec:
    provider = MailProvider(failure_rate=settings.notification_failure_rate)

    async def handle(conn: AsyncConnection, envelope: Envelope) -> list[str]:
        outcome = envelope.event
        assert isinstance(outcome, PaymentProcessed | PaymentFailed)
        email = (await conn.execute(select(users.c.email).where(users.c.id == outcome.customer_id))).scalar_one()
        if email is None:  # signed up, no address on file yet: nothing to send
            log.info("no email address for customer %s", outcome.customer_id)
            return []
        if isinstance(outcome, PaymentProcessed):
            kind, subject = "order_confirmed", f"Your order {envelope.order_id} is confirmed"
        else:
            kind, subject = "payment_failed", f"Payment for order {envelope.order_id} failed"
        await provider.send(email, subject)
        await conn.execute(
            insert(notifications).values(order_id=envelope.order_id, kind=kind, recipient=email, subject=subject)
        )
        return []

    return worker.WorkerSpec(
        name="notification",
        topics=[settings.topic_payments],
        accepts=frozenset({"PaymentProcessed", "PaymentFailed"}),
        handle=handle,
    )


def main(settings: Settings) -> None:
    asyncio.run(worker.serve(settings, spec(settings)))
