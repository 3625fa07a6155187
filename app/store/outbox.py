"""Transactional outbox: events are rows written in the caller's transaction."""

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.pipeline.events import Envelope
from app.store.tables import outbox


async def add(conn: AsyncConnection, topic: str, envelope: Envelope) -> None:
    """Publishing happens later (relay); rolling back the caller's transaction drops the event."""
    await conn.execute(
        insert(outbox).values(
            event_id=envelope.event_id,
            topic=topic,
            key=str(envelope.order_id),
            event_type=envelope.type,
            payload=envelope.model_dump(mode="json"),
        )
    )


async def backlog(conn: AsyncConnection) -> int:
    query = (
        select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
    )
    return int((await conn.execute(query)).scalar_one())
