"""`python -m app fulfillment`: create the shipment for a reserved order and mark it fulfilled."""

import asyncio
import uuid

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.settings import Settings
from app.pipeline import worker
from app.pipeline.events import Envelope, InventoryUpdated, OrderFulfilled
from app.store import orders, outbox
from app.store.cache import order_key
from app.store.tables import shipments


def spec(settings: Settings) -> worker.WorkerSpec:
    async def handle(conn: AsyncConnection, envelope: Envelope) -> list[str]:
        assert isinstance(envelope.event, InventoryUpdated)
        shipment_id = uuid.uuid4()
        await conn.execute(insert(shipments).values(id=shipment_id, order_id=envelope.order_id))
        await orders.transition(conn, envelope.order_id, source=orders.RESERVED, target=orders.FULFILLED)
        fulfilled = envelope.follow(OrderFulfilled(shipment_id=shipment_id))
        await outbox.add(conn, settings.topic_shipments, fulfilled)
        return [order_key(envelope.order_id)]

    return worker.WorkerSpec(
        name="fulfillment",
        topics=[settings.topic_inventory],
        accepts=frozenset({"InventoryUpdated"}),
        handle=handle,
        cache_keys=lambda envelope: [order_key(envelope.order_id)],
    )


def main(settings: Settings) -> None:
    asyncio.run(worker.serve(settings, spec(settings)))
