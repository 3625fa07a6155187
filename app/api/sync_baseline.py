"""Benchmark only (APP_SYNC_BASELINE=true): the article's "before", every step in the request.

After placing the order, the request itself applies each follow-on event with the workers' own
handlers (payment with its simulated latency, inventory, notification, fulfillment), one
transaction per event, reading the events from the outbox and marking them published so no relay
sends them. The response waits for the whole chain, as a synchronous order service would.
"""

import uuid

from sqlalchemy import func, select, update

from app.core.settings import Settings
from app.pipeline import fulfillment, inventory, notification, payment
from app.pipeline.events import Envelope
from app.pipeline.worker import WorkerSpec
from app.store.db import Database
from app.store.tables import outbox


def specs(settings: Settings) -> list[WorkerSpec]:
    return [module.spec(settings) for module in (payment, inventory, notification, fulfillment)]


async def process_inline(database: Database, workers: list[WorkerSpec], order_id: uuid.UUID) -> None:
    """Apply the order's events in outbox order until none is left."""
    while True:
        async with database.write() as conn:
            row = (
                await conn.execute(
                    select(outbox.c.id, outbox.c.payload)
                    .where(outbox.c.key == str(order_id), outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(1)
                )
            ).first()
            if row is None:
                return
            await conn.execute(update(outbox).where(outbox.c.id == row.id).values(published_at=func.now()))
            envelope = Envelope.model_validate(row.payload)
            for spec in workers:
                if envelope.type in spec.accepts:
                    handle = spec.handle if spec.prepare is None else await spec.prepare(envelope)
                    await handle(conn, envelope)
