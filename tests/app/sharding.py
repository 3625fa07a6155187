"""Builders for the sharded tests: a shard map over local databases, customers on every shard."""

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import func, update

from app.core.settings import Settings
from app.dev.launcher import Database
from app.store.routing import Shards
from app.store.tables import outbox


@contextmanager
def local_databases(names: list[str], admin_dsn: str) -> Iterator[list[str]]:
    """Empty databases `names` on the server `admin_dsn` reaches, created now and dropped after
    (also when the test fails): their URLs, in order."""
    with ExitStack() as created:
        yield [created.enter_context(Database.named(name, admin_dsn)).url for name in names]


def shard_map_json(urls: list[str]) -> str:
    """APP_DB_SHARDS for `urls`, named s0, s1, ... as the infra names them."""
    return json.dumps([{"name": f"s{index}", "writer_url": url} for index, url in enumerate(urls)])


def sharded(settings: Settings, urls: list[str]) -> Settings:
    """`settings` with `urls` as its shards (the first is home)."""
    return Settings.model_validate(
        settings.model_dump() | {"db_shards": shard_map_json(urls), "db_writer_url": urls[0], "db_reader_urls": []}
    )


def customers_on_every_shard(shards: Shards, prefix: str = "cust") -> dict[str, str]:
    """One fresh customer id per shard name, found by trying ids until the ring places one on each."""
    found: dict[str, str] = {}
    tag = uuid.uuid4().hex[:6]
    index = 0
    while len(found) < len(shards):
        customer = f"{prefix}-{tag}-{index}"
        found.setdefault(shards.shard_name_for(customer), customer)
        index += 1
    return found


async def settle_outboxes(shards: Shards) -> None:
    """Earlier tests' unpublished rows out of the way, so a relay here sees this test's only."""
    for database in shards:
        async with database.write() as conn:
            await conn.execute(update(outbox).where(outbox.c.published_at.is_(None)).values(published_at=func.now()))
