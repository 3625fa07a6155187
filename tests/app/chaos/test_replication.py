"""The stack's replication settings on a three-broker cluster (replication factor 3,
min.insync.replicas 2): one broker down, the relay still publishes; two down, it holds the rows in
the outbox (NotEnoughReplicas) and parks none; when the brokers return, everything drains and no
event is missing from the topic."""

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from app.core.settings import Settings
from app.dev.localcluster import LocalCluster
from app.pipeline import topics
from app.pipeline.relay import Relay
from app.store.db import Database
from app.store.tables import outbox
from tests.app.helpers import eventually, place_order, read_topic

pytestmark = pytest.mark.asyncio
BATCH = 5


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(brokers=3, replication_factor=3, min_insync_replicas=2) as running:
        yield running


async def _rows(database: Database, orders: list[uuid.UUID]) -> list[tuple[bool, bool]]:
    """(published, parked) per outbox row of these orders."""
    async with database.read(primary=True) as conn:
        result = await conn.execute(
            select(outbox.c.published_at, outbox.c.parked_at).where(outbox.c.key.in_([str(o) for o in orders]))
        )
        return [(row.published_at is not None, row.parked_at is not None) for row in result]


async def _place(database: Database, settings: Settings) -> list[uuid.UUID]:
    return [await place_order(database, settings, "SKU-0001") for _ in range(BATCH)]


async def _all_published(database: Database, orders: list[uuid.UUID]) -> bool:
    rows = await _rows(database, orders)
    return len(rows) == len(orders) and all(published for published, _ in rows)


async def test_relay_with_brokers_down_holds_rows_and_loses_none(
    settings: Settings, database: Database, cluster: LocalCluster
) -> None:
    settings = settings.model_copy(
        update={
            "kafka_bootstrap_servers": cluster.bootstrap,
            "topic_replication_factor": 3,
            "topic_min_insync_replicas": 2,
            "relay_delivery_timeout_ms": 3000,
        }
    )
    await topics.ensure(settings)
    relay = Relay(settings, database)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    placed: list[uuid.UUID] = []
    try:
        first = await _place(database, settings)
        await eventually(lambda: _all_published(database, first), within=30)

        await asyncio.to_thread(cluster.stop_broker, 0)
        one_down = await _place(database, settings)
        await eventually(lambda: _all_published(database, one_down), within=60)

        await asyncio.to_thread(cluster.stop_broker, 1)
        two_down = await _place(database, settings)
        await asyncio.sleep(10)
        held = await _rows(database, two_down)
        assert not any(published for published, _ in held), "published with only one in-sync replica"
        assert not any(parked for _, parked in held), "rows parked while the cluster lacked replicas"

        await asyncio.to_thread(cluster.start_broker, 0)
        await asyncio.to_thread(cluster.start_broker, 1)
        await eventually(lambda: _all_published(database, two_down), within=90)
        placed = first + one_down + two_down
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    records = await read_topic(settings, settings.topic_orders, len(placed), within=30)
    keys = {uuid.UUID(record.key.decode()) for record in records if record.key}
    assert set(placed) <= keys, f"missing from the topic: {set(placed) - keys}"
