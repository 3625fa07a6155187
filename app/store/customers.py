"""Which customer (a `users` row) a signed-in identity is."""

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.store.tables import users


class SubjectTaken(Exception):
    """A new subject's row id is already another customer's: never hand that customer over."""


async def for_subject(conn: AsyncConnection, subject: str, *, email: str | None, name: str | None) -> str:
    """The customer id linked to ``subject``; on first sign-in, a new row whose id is the subject."""
    query = select(users.c.id).where(users.c.subject == subject)
    if (found := (await conn.execute(query)).scalar_one_or_none()) is not None:
        return str(found)
    await conn.execute(
        pg_insert(users).values(id=subject, subject=subject, email=email, name=name).on_conflict_do_nothing()
    )
    # Re-read by subject: a concurrent first sign-in may have won, and an id clash (a row with
    # this id but another subject) must not link this identity to that customer.
    if (found := (await conn.execute(query)).scalar_one_or_none()) is None:
        raise SubjectTaken(subject)
    return str(found)


async def ensure(conn: AsyncConnection, customer_id: str, *, email: str | None, name: str | None) -> None:
    """The customer's own row on its shard (the directory row is on the home shard)."""
    await conn.execute(pg_insert(users).values(id=customer_id, email=email, name=name).on_conflict_do_nothing())
