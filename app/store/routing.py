"""The shard registry: one `Database` per shard, and the one function that routes a customer.

Every read and write of customer data goes through `Shards.for_customer` (events through
`for_event`, which reads the envelope's customer), so the reshard overlay plugs in at one place.
The home shard (the first) holds the global tables: the catalogue and stock, and the sign-in
directory (subject -> customer id). With no APP_DB_SHARDS there is one shard, the settings'
database, and every route leads to it.
"""

import asyncio
import logging
import time
from collections.abc import Iterator, Sequence

from sqlalchemy.engine import make_url

from app.core.settings import Settings
from app.pipeline.events import Envelope
from app.store.db import Database
from app.store.overlay import Overlay, joining_names, ring_map, route
from app.store.shards import Shard, ShardMap

log = logging.getLogger(__name__)
CHECK_RETRY_SECONDS = 0.5


class ShardUnreachable(Exception):
    """At start, a configured shard could not be reached; the message names each one."""


class MissingCustomer(Exception):
    """An event without `customer_id` while there is more than one shard: it cannot be routed.

    With one shard such an event (written before events carried the customer) goes home, the only
    place its order can be. With several, guessing would apply it to the wrong shard's order or to
    none, so it is dead-lettered at once: retrying cannot add the missing field."""


def safe_url(url: str) -> str:
    """The URL for a message: host, port and database, never a password."""
    return make_url(url).render_as_string(hide_password=True)


class Shards:
    """The shards in configured order, each a `Database` (engines connect lazily)."""

    def __init__(self, settings: Settings, databases: Sequence[Database] | None = None, *, moves: bool = True) -> None:
        """``moves=False``: route by the ring alone, for tools and tests that ask about the layout;
        a process serving traffic keeps the default and calls `follow_moves` (via `check_at_start`)."""
        self.settings = settings
        if databases is None:
            databases = [
                Database(settings, name=shard.name, writer_url=shard.writer_url, reader_urls=shard.reader_urls)
                for shard in settings.shard_list()
            ]
        # ShardMap refuses an empty list and duplicate or malformed names, naming each.
        self.map = ShardMap(tuple(Shard(database.name, database.writer_url) for database in databases))
        self._by_name = {database.name: database for database in databases}
        self._shards = {shard.name: shard for shard in self.map.shards}
        # Routing: the ring leaves out a shard still joining (customers are being moved onto it),
        # and the overlay sends each customer already moved there. Relay, migrate and the start
        # check still cover every configured shard, joining ones included.
        self.ring = ring_map(self.map.shards, joining_names()) if len(databases) > 1 else self.map
        home = self._by_name[self.map.home.name].writer if moves and len(databases) > 1 else None
        self.overlay = Overlay(home, known=self.map.names)
        self._overlay_task: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, database: Database) -> "Shards":
        """One database as the only shard (the one-shard deployment, and many tests)."""
        return cls(database.settings, [database])

    @property
    def home(self) -> Database:
        """The first shard: catalogue, stock and the sign-in directory."""
        return self._by_name[self.map.home.name]

    @property
    def names(self) -> list[str]:
        return self.map.names

    def __iter__(self) -> Iterator[Database]:
        return (self._by_name[name] for name in self.map.names)

    def __len__(self) -> int:
        return len(self._by_name)

    def by_name(self, name: str) -> Database:
        return self._by_name[name]

    def shard_name_for(self, customer_id: str) -> str:
        return route(customer_id, self.ring, self._shards, self.overlay).name

    def for_customer(self, customer_id: str) -> Database:
        """The shard that holds `customer_id`'s user row, orders, outbox, inbox and shipments."""
        return self._by_name[self.shard_name_for(customer_id)]

    def for_event(self, envelope: Envelope) -> Database:
        """The shard of the event's customer (see `MissingCustomer` for events without one)."""
        if envelope.customer_id is not None:
            return self.for_customer(envelope.customer_id)
        if len(self) == 1:
            return self.home
        raise MissingCustomer(f"event {envelope.event_id} has no customer_id and there are {len(self)} shards")

    async def check(self, timeout: float) -> None:
        """Connect to every shard (in parallel, each retried until `timeout`); raise
        `ShardUnreachable` naming every shard that never answered."""

        async def reach(database: Database) -> str | None:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    async with asyncio.timeout(max(deadline - time.monotonic(), 0.1)):
                        await database.ping()
                    return None
                except Exception as exc:
                    if time.monotonic() + CHECK_RETRY_SECONDS >= deadline:
                        return f"shard {database.name!r} ({safe_url(database.writer_url)}) cannot be reached: {exc!r}"
                    await asyncio.sleep(CHECK_RETRY_SECONDS)

        problems = [problem for problem in await asyncio.gather(*(reach(db) for db in self)) if problem]
        if problems:
            raise ShardUnreachable(
                f"{len(problems)} of {len(self)} shards unreachable within {timeout}s: " + "; ".join(problems)
            )

    async def check_at_start(self) -> None:
        """With a shard map, a process refuses to start while a shard is unreachable (a wrong
        URL shows at deploy). Without one it starts as it always did, unready until the
        database answers."""
        if self.settings.db_shards is not None:
            await self.check(self.settings.db_shard_check_seconds)
            log.info("all %d shards reachable: %s", len(self), ", ".join(self.names))
        await self.follow_moves()

    async def follow_moves(self) -> None:
        """With several shards: read the overlay of moved customers now (routing refuses to guess
        until it has), then keep it fresh in the background. One shard: nothing can move."""
        if self.overlay.home is not None and self._overlay_task is None:
            await self.overlay.refresh()
            self._overlay_task = asyncio.create_task(self.overlay.run())

    async def dispose(self) -> None:
        if self._overlay_task is not None:
            self._overlay_task.cancel()
            self._overlay_task = None
        for database in self:
            await database.dispose()
