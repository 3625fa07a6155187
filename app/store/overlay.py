"""Where a moved customer lives while a reshard is under way, and the error a fenced write raises.

The ring places a customer by the shard names it is built from. A shard being added is
configured (its URL is known) but left off the ring until every customer the ring would give it
has been copied there: until then `customer_shards` on the home shard lists each moved customer
and its new shard, and that row wins over the ring. Routing is therefore
``overlay.lookup(customer) or ring.shard_for(customer)``.

The overlay is read whole (it holds only the customers of moves in progress, and is cleared once
the ring includes the new shard) and refreshed in the background, so a lookup is a dict access on
the request path. A pod sees a flip at most `refresh_seconds` late; the move waits longer than
that (its grace) before it deletes the source rows, and until then the source refuses the
customer's writes, so a stale pod gets a retryable error, never a lost write.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.shards import Shard, ShardConfigError, ShardMap

log = logging.getLogger(__name__)

FENCED_SQLSTATE = "WSF01"
"""Raised by the source shard's trigger for a customer being moved: retry shortly (503 +
Retry-After in the API, a transient failure in a worker)."""

JOINING_ENV = "APP_DB_SHARDS_JOINING"
"""Comma-separated names of configured shards not yet on the ring (a shard being added)."""


def is_fenced(error: BaseException) -> bool:
    """True for the fence trigger's refusal, however SQLAlchemy and asyncpg wrapped it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "sqlstate", None) == FENCED_SQLSTATE or getattr(current, "pgcode", None) == FENCED_SQLSTATE:
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


def joining_names(raw: str | None = None) -> list[str]:
    value = os.environ.get(JOINING_ENV, "") if raw is None else raw
    return [name.strip() for name in value.split(",") if name.strip()]


def ring_map(shards: Sequence[Shard], joining: Sequence[str] = ()) -> ShardMap:
    """The ring over the configured shards minus those still joining; a joining name that is not
    configured, or the home shard joining, is a configuration error naming it."""
    names = [shard.name for shard in shards]
    unknown = [name for name in joining if name not in names]
    if unknown:
        raise ShardConfigError(f"{JOINING_ENV} names shards that are not configured: {unknown}")
    if names and names[0] in joining:
        raise ShardConfigError(f"{JOINING_ENV}: the home shard {names[0]!r} cannot be joining")
    return ShardMap(tuple(shard for shard in shards if shard.name not in joining))


class OverlayStale(RuntimeError):
    """The overlay has not been refreshed for too long to route by it."""


class Overlay:
    """In-memory copy of the home shard's `customer_shards`, refreshed every `refresh_seconds`."""

    def __init__(
        self,
        home: AsyncEngine | None,
        *,
        known: Sequence[str],
        refresh_seconds: float = 1.0,
        max_age_seconds: float = 30.0,
    ) -> None:
        self.home = home
        self.known = set(known)
        self.refresh_seconds = refresh_seconds
        self.max_age_seconds = max_age_seconds
        self._moved: dict[str, str] = {}
        self._refreshed = time.monotonic() if home is None else float("-inf")

    @property
    def moved(self) -> Mapping[str, str]:
        return dict(self._moved)

    async def refresh(self) -> None:
        if self.home is None:
            return
        async with self.home.connect() as conn:
            rows = (await conn.execute(text("SELECT customer_id, shard FROM customer_shards"))).all()
        moved = {row.customer_id: row.shard for row in rows}
        unknown = sorted(set(moved.values()) - self.known)
        if unknown:
            # A row naming a shard this process cannot reach: routing there would fail every request.
            log.error("customer_shards names unconfigured shards %s; those rows are ignored", unknown)
            moved = {customer: shard for customer, shard in moved.items() if shard in self.known}
        self._moved = moved
        self._refreshed = time.monotonic()

    def lookup(self, customer_id: str) -> str | None:
        """The shard a moved customer now lives on, or None (the ring decides)."""
        # With no home engine there is nothing to follow (one shard, or a layout-only registry),
        # so the copy cannot go stale.
        if self.home is not None and time.monotonic() - self._refreshed > self.max_age_seconds:
            raise OverlayStale(f"customer_shards not refreshed for over {self.max_age_seconds:g} s")
        return self._moved.get(customer_id)

    async def run(self) -> None:
        """Refresh forever (a background task of every process that routes)."""
        while True:
            try:
                await self.refresh()
            except Exception:
                log.warning("refreshing customer_shards failed; keeping the last copy", exc_info=True)
            await asyncio.sleep(self.refresh_seconds)


def route(customer_id: str, ring: ShardMap, configured: Mapping[str, Shard], overlay: Overlay) -> Shard:
    """The one routing rule: the overlay's shard for a moved customer, else the ring's.
    `configured` holds every configured shard by name, joining ones included."""
    name = overlay.lookup(customer_id)
    if name is None:
        return ring.shard_for(customer_id)
    if name not in configured:
        raise ShardConfigError(f"customer {customer_id!r} is routed to shard {name!r}, which is not configured")
    return configured[name]
