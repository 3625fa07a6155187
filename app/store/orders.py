"""Order placement (order + outbox in one transaction), order reads and status transitions."""

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.api.schemas import OrderRequest
from app.core.metrics import ORDER_COMPLETION_SECONDS
from app.store.placement import PLACE_ORDER, PLACE_ORDER_PRICED
from app.store.tables import order_items, order_status_history, orders, products

PENDING = "pending"
PAID = "paid"
PAYMENT_FAILED = "payment_failed"
RESERVED = "reserved"
OUT_OF_STOCK = "out_of_stock"
FULFILLED = "fulfilled"
FINAL = frozenset({FULFILLED, PAYMENT_FAILED, OUT_OF_STOCK})
"""Statuses an order never leaves."""


TRANSITION = text(
    """\
WITH moved AS (
    UPDATE orders SET status = CAST(:target AS varchar), updated_at = now()
    WHERE id = CAST(:order_id AS uuid) AND status = CAST(:source AS varchar)
    RETURNING id, created_at
)
INSERT INTO order_status_history (order_id, status, reason)
SELECT id, CAST(:target AS varchar), CAST(:reason AS text) FROM moved
RETURNING order_id, (SELECT extract(epoch FROM now() - created_at) FROM moved) AS age_seconds
"""
)


class UnknownReference(Exception):
    """A well-formed id that names nothing (unknown customer or SKU); rendered as a 422."""

    def __init__(self, loc: list[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class IdempotencyKeyReused(Exception):
    """The key was already used for a different request body."""


class InvalidTransition(Exception):
    """The order is not in the state the event expects (a bug or a foreign event)."""


@dataclass(frozen=True)
class Placed:
    order_id: uuid.UUID
    replayed: bool


def request_hash(request: OrderRequest) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


async def prices(conn: AsyncConnection, skus: Sequence[str]) -> dict[str, int]:
    """The catalogue price of each known SKU among `skus` (on the home shard)."""
    query = select(products.c.sku, products.c.price_cents).where(products.c.sku.in_(sorted(set(skus))))
    return {row.sku: row.price_cents for row in await conn.execute(query)}


async def place(
    conn: AsyncConnection,
    request: OrderRequest,
    *,
    topic: str,
    idempotency_key: str | None,
    priced: Mapping[str, int] | None = None,
) -> Placed:
    """Insert the order as pending, its lines, its first history row and OrderPlaced, or replay.

    One statement (app/store/placement.py): one round trip, atomic even outside a transaction.
    `priced`: the catalogue prices (`prices`) when the catalogue is on another shard; None: the
    statement reads them from this database's catalogue."""
    digest = request_hash(request)
    order_id, event_id = uuid.uuid4(), uuid.uuid4()
    remote: dict[str, object] = (
        {} if priced is None else {"price_skus": list(priced), "price_cents": list(priced.values())}
    )
    found = (
        await conn.execute(
            PLACE_ORDER if priced is None else PLACE_ORDER_PRICED,
            remote
            | {
                "order_id": order_id,
                "event_id": event_id,
                "customer_id": request.customer_id,
                "idempotency_key": idempotency_key or None,
                "request_hash": digest,
                "currency": request.currency,
                "topic": topic,
                "occurred_at": datetime.now(UTC).isoformat(),
                "skus": [item.sku for item in request.items],
                "quantities": [item.quantity for item in request.items],
            },
        )
    ).one()
    if found.existing_id is not None:
        if found.existing_hash != digest:
            raise IdempotencyKeyReused(str(idempotency_key))
        return Placed(found.existing_id, replayed=True)
    if not found.customer_known:
        raise UnknownReference(["body", "customer_id"], "unknown customer")
    if found.unknown_lines:
        raise UnknownReference(["body", "items", found.unknown_lines[0] - 1, "sku"], "unknown SKU")
    if found.created_id is None:
        # A concurrent request with the same key committed first: replay its order.
        assert idempotency_key
        winner = await _by_key(conn, request.customer_id, idempotency_key, digest)
        assert winner is not None
        return Placed(winner, replayed=True)
    return Placed(order_id, replayed=False)


async def _by_key(conn: AsyncConnection, customer_id: str, key: str, digest: str) -> uuid.UUID | None:
    row = (
        await conn.execute(
            select(orders.c.id, orders.c.request_hash).where(
                orders.c.customer_id == customer_id, orders.c.idempotency_key == key
            )
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyKeyReused(key)
    order_id: uuid.UUID = row.id
    return order_id


async def load(conn: AsyncConnection, order_id: uuid.UUID) -> dict[str, Any] | None:
    """The order with its lines and status history, as the JSON the API returns."""
    order = (await conn.execute(select(orders).where(orders.c.id == order_id))).first()
    if order is None:
        return None
    lines = await conn.execute(
        select(order_items.c.sku, order_items.c.quantity, order_items.c.unit_price_cents)
        .where(order_items.c.order_id == order_id)
        .order_by(order_items.c.line_no)
    )
    history = await conn.execute(
        select(order_status_history.c.status, order_status_history.c.reason, order_status_history.c.at)
        .where(order_status_history.c.order_id == order_id)
        .order_by(order_status_history.c.id)
    )
    return {
        "id": str(order.id),
        "customer_id": order.customer_id,
        "status": order.status,
        "currency": order.currency,
        "total_cents": order.total_cents,
        "items": [dict(row._mapping) for row in lines],
        "history": [{"status": row.status, "reason": row.reason, "at": row.at.isoformat()} for row in history],
    }


async def transition(
    conn: AsyncConnection,
    order_id: uuid.UUID,
    *,
    source: str,
    target: str,
    reason: str | None = None,
) -> None:
    """Compare-and-set on the status, so a stale or foreign event cannot rewind an order.

    The status change and its history row are one statement: one round trip, not two."""
    result = await conn.execute(
        TRANSITION, {"order_id": order_id, "source": source, "target": target, "reason": reason}
    )
    moved = result.first()
    if moved is None:
        raise InvalidTransition(f"order {order_id} is not {source}, cannot become {target}")
    if target in FINAL:
        ORDER_COMPLETION_SECONDS.labels(target).observe(float(moved.age_seconds))
