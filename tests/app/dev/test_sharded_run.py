"""The real processes (`python -m app <process>`, started by app.dev.run.pipeline) on three local
shards: migrate reaches every shard, and orders of customers on every shard reach fulfilled."""

import asyncio
import time
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from app.dev.run import pipeline
from app.store.routing import Shards
from tests.app.conftest import PG_ADMIN_DSN, REDIS_URL
from tests.app.sharding import customers_on_every_shard, local_databases, shard_map_json, sharded

ORDER_TIMEOUT_SECONDS = 90.0


async def _statuses(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return {str(row["id"]): row["status"] for row in await conn.fetch("SELECT id, status FROM orders")}
    finally:
        await conn.close()


@pytest.fixture
def three_databases() -> Iterator[list[str]]:
    """Empty: the pipeline's own `migrate` step must reach every shard."""
    names = [f"app_devshard_{uuid.uuid4().hex[:8]}_{index}" for index in range(3)]
    with local_databases(names, PG_ADMIN_DSN) as urls:
        yield urls


def test_real_processes_on_three_shards_fulfil_orders_of_customers_on_every_shard(
    three_databases: list[str], settings: object
) -> None:
    env = {
        "APP_DB_SHARDS": shard_map_json(three_databases),
        "APP_DB_WRITER_URL": three_databases[0],
        "APP_REDIS_URL": REDIS_URL,
        "APP_PAYMENT_LATENCY_MS": "0",
    }
    routing = Shards(sharded(settings, three_databases), moves=False)  # type: ignore[arg-type]
    customers = customers_on_every_shard(routing)
    with pipeline(env) as running:
        placed: dict[str, tuple[str, str]] = {}
        for shard, customer in customers.items():
            signed_in = running.issuer.headers(customer)
            created = httpx.post(
                f"{running.api}/api/orders",
                json={"currency": "EUR", "items": [{"sku": "SKU-0001", "quantity": 1}]},
                headers=signed_in,
                timeout=10,
            )
            assert created.status_code == 202, created.text
            placed[shard] = (customer, created.json()["id"])
        deadline = time.monotonic() + ORDER_TIMEOUT_SECONDS
        statuses: dict[str, str] = {}
        while time.monotonic() < deadline:
            statuses = {
                shard: httpx.get(
                    f"{running.api}/api/orders/{order_id}", headers=running.issuer.headers(customer), timeout=10
                ).json()["status"]
                for shard, (customer, order_id) in placed.items()
            }
            if set(statuses.values()) == {"fulfilled"}:
                break
            time.sleep(0.5)
        assert statuses == {shard: "fulfilled" for shard in customers}, f"logs in {running.logs}"
    for index, url in enumerate(three_databases):
        held = asyncio.run(_statuses(url))
        assert held == {placed[f"s{index}"][1]: "fulfilled"}, f"shard s{index} holds {held}"
