"""Counting, from the database, what happened to every order a chaos run placed.

An order is final when fulfilled (payments never fail and stock never runs out in a chaos run).
Lost: accepted (a 202) but absent, or final with an effect missing (no shipment, no
notification, stock not taken). Doubled: a second order for one Idempotency-Key, a status
reached twice, an event type emitted twice, a second notification of a kind, or stock taken more
than once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

FINAL = "fulfilled"
STATUSES = ("pending", "paid", "reserved", "fulfilled")


@dataclass(frozen=True)
class Count:
    accepted: int
    final: int
    stuck: int
    lost: int
    doubled: int


async def count(dsn: str, sku: str, initial_stock: int, keys: set[str], accepted: set[uuid.UUID]) -> Count:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, status, idempotency_key FROM orders WHERE idempotency_key = ANY($1)", list(keys)
        )
        by_key: dict[str, int] = {}
        for row in rows:
            by_key[row["idempotency_key"]] = by_key.get(row["idempotency_key"], 0) + 1
        ids = [row["id"] for row in rows]
        status = {row["id"]: row["status"] for row in rows}
        doubled: set[uuid.UUID] = set()
        doubled_keys = sum(1 for n in by_key.values() if n > 1)
        for table, column in (("order_status_history", "status"), ("outbox", "event_type"), ("notifications", "kind")):
            key_column = "key::uuid" if table == "outbox" else "order_id"
            repeated = await conn.fetch(
                f"SELECT {key_column} AS order_id FROM {table} WHERE {key_column} = ANY($1) "
                f"GROUP BY 1, {column} HAVING count(*) > 1",
                ids,
            )
            doubled.update(row["order_id"] for row in repeated)
        shipped = {
            row["order_id"] for row in await conn.fetch("SELECT order_id FROM shipments WHERE order_id = ANY($1)", ids)
        }
        notified = {
            row["order_id"]
            for row in await conn.fetch("SELECT DISTINCT order_id FROM notifications WHERE order_id = ANY($1)", ids)
        }
        stock = await conn.fetchval("SELECT stock FROM products WHERE sku = $1", sku)
        reserved = await conn.fetchval(
            "SELECT coalesce(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id "
            "WHERE o.id = ANY($1) AND o.status IN ('reserved', 'fulfilled') AND i.sku = $2",
            ids,
            sku,
        )
    finally:
        await conn.close()
    final = {order for order in accepted if status.get(order) == FINAL}
    missing = {order for order in accepted if order not in status}
    effect_missing = {order for order in final if order not in shipped or order not in notified}
    taken = initial_stock - stock
    stock_doubled = max(0, taken - reserved)
    stock_lost = max(0, reserved - taken)
    return Count(
        accepted=len(accepted),
        final=len(final),
        stuck=len(accepted) - len(final) - len(missing),
        lost=len(missing) + len(effect_missing) + stock_lost,
        doubled=len(doubled) + doubled_keys + stock_doubled,
    )
