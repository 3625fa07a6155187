"""Three throwaway, migrated PostgreSQL databases as shards s0 (home), s1 and s2 (being added),
and customers with finished orders in every table a customer owns."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg

from app.core.settings import Settings
from app.store.migrate import upgrade
from app.store.shards import plan_add, ring
from tests.app.conftest import PG_ADMIN_DSN
from tests.app.sharding import local_databases

CURRENT = ["s0", "s1"]
NEW = "s2"


@dataclass(frozen=True)
class Shards:
    urls: dict[str, str]

    @property
    def env(self) -> str:
        """APP_DB_SHARDS for these databases."""
        return json.dumps([{"name": name, "writer_url": url} for name, url in self.urls.items()])

    def dsn(self, name: str) -> str:
        return self.urls[name].replace("+asyncpg", "")


async def _run(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def three_shards() -> Iterator[Shards]:
    base = f"reshard_{uuid.uuid4().hex[:10]}"
    names = [*CURRENT, NEW]
    with local_databases([f"{base}_{name}" for name in names], PG_ADMIN_DSN) as created:
        urls = dict(zip(names, created, strict=True))
        for url in urls.values():
            upgrade(Settings(db_writer_url=url, db_ssl="disable"))
            # The seed migration's demo customers (on every shard, with no orders) would only be noise.
            asyncio.run(_run(url.replace("+asyncpg", ""), "DELETE FROM users WHERE id LIKE 'cust-%'"))
        yield Shards(urls)


def customers_by_fate(count: int, prefix: str = "c") -> dict[str, list[str]]:
    """`count` customer ids per fate: moving from s0, moving from s1, staying on s0, staying on s1."""
    fates: dict[str, list[str]] = {"s0->s2": [], "s1->s2": [], "s0": [], "s1": []}
    n = 0
    while any(len(ids) < count for ids in fates.values()):
        customer = f"{prefix}-{n:05d}"
        n += 1
        moves = {m.customer_id: m for m in plan_add([customer], CURRENT, NEW).moves}
        home = ring(CURRENT).get_node(customer)
        fate = f"{home}->{NEW}" if customer in moves else home
        if len(fates[fate]) < count:
            fates[fate].append(customer)
    return fates


async def seed_customer(dsn: str, customer: str, *, home_dsn: str, orders: int = 2) -> None:
    """A customer with `orders` fulfilled orders: items, history, published outbox rows, inbox
    claims, notifications and shipments; the home shard's inventory claims and a directory entry."""
    conn = await asyncpg.connect(dsn)
    home = await asyncpg.connect(home_dsn)
    try:
        await conn.execute(
            "INSERT INTO users (id, subject, email, name) VALUES ($1, $2, $3, $4)",
            customer,
            f"sub-{customer}",
            f"{customer}@example.com",
            customer.upper(),
        )
        if dsn != home_dsn:
            await home.execute("INSERT INTO users (id, subject) VALUES ($1, $2)", customer, f"sub-{customer}")
        for _ in range(orders):
            order = uuid.uuid4()
            await conn.execute(
                "INSERT INTO orders (id, customer_id, status, currency, total_cents, idempotency_key) "
                "VALUES ($1, $2, 'fulfilled', 'EUR', 2500, $3)",
                order,
                customer,
                f"key-{order}",
            )
            await conn.execute(
                "INSERT INTO order_items VALUES ($1, 1, 'SKU-0001', 2, 1000), ($1, 2, 'SKU-0002', 1, 500)", order
            )
            for status in ("pending", "paid", "reserved", "fulfilled"):
                await conn.execute("INSERT INTO order_status_history (order_id, status) VALUES ($1, $2)", order, status)
            for event_type in ("order.placed", "payment.succeeded", "inventory.reserved", "order.fulfilled"):
                event = uuid.uuid4()
                await conn.execute(
                    "INSERT INTO outbox (event_id, topic, key, event_type, payload, published_at) "
                    "VALUES ($1, 'orders', $2, $3, $4, now())",
                    event,
                    str(order),
                    event_type,
                    json.dumps({"order_id": str(order), "customer_id": customer, "type": event_type}),
                )
                consumer = {"order.placed": "payment", "payment.succeeded": "inventory"}.get(event_type, "notification")
                # The inventory claim guards stock, on the home shard; the others sit with the order.
                await (home if consumer == "inventory" else conn).execute(
                    "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)", consumer, event
                )
            await conn.execute(
                "INSERT INTO notifications (order_id, kind, recipient, subject) VALUES ($1, 'fulfilled', $2, 'shipped')",
                order,
                f"{customer}@example.com",
            )
            await conn.execute("INSERT INTO shipments (id, order_id) VALUES ($1, $2)", uuid.uuid4(), order)
    finally:
        await conn.close()
        await home.close()
