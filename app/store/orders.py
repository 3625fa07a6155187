"""Order placement (order + outbox in one transaction), order reads and status transitions."""

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.api.schemas import OrderRequest
from app.core.metrics import ORDER_COMPLETION_SECONDS
from app.pipeline.events import Envelope, Line, OrderPlaced
from app.store import outbox
from app.store.tables import order_items, order_status_history, orders, products, users

PENDING = "pending"
PAID = "paid"
PAYMENT_FAILED = "payment_failed"
RESERVED = "reserved"
OUT_OF_STOCK = "out_of_stock"
FULFILLED = "fulfilled"
FINAL = frozenset({FULFILLED, PAYMENT_FAILED, OUT_OF_STOCK})
"""Statuses an order never leaves."""


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


async def place(conn: AsyncConnection, request: OrderRequest, *, topic: str, idempotency_key: str | None) -> Placed:
    """Insert the order as pending, its lines, its first history row and OrderPlaced, or replay."""
    digest = request_hash(request)
    if idempotency_key:
        existing = await _by_key(conn, request.customer_id, idempotency_key, digest)
        if existing:
            return Placed(existing, replayed=True)

    lines = await _priced_lines(conn, request)
    total = sum(line.unit_price_cents * line.quantity for line in lines)
    order_id = uuid.uuid4()
    inserted = await conn.execute(
        pg_insert(orders)
        .values(
            id=order_id,
            customer_id=request.customer_id,
            status=PENDING,
            currency=request.currency,
            total_cents=total,
            idempotency_key=idempotency_key,
            request_hash=digest if idempotency_key else None,
        )
        # A concurrent request with the same key waits on the unique index, then lands here.
        .on_conflict_do_nothing(constraint="orders_idempotency_key")
        .returning(orders.c.id)
    )
    if inserted.first() is None:
        assert idempotency_key is not None  # only the idempotency constraint can conflict
        winner = await _by_key(conn, request.customer_id, idempotency_key, digest)
        assert winner is not None
        return Placed(winner, replayed=True)

    await conn.execute(
        insert(order_items),
        [{"order_id": order_id, "line_no": n, **line.model_dump()} for n, line in enumerate(lines, start=1)],
    )
    await conn.execute(insert(order_status_history).values(order_id=order_id, status=PENDING))
    placed = OrderPlaced(customer_id=request.customer_id, currency=request.currency, total_cents=total, items=lines)
    await outbox.add(conn, topic, Envelope(order_id=order_id, event=placed))
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


async def _priced_lines(conn: AsyncConnection, request: OrderRequest) -> list[Line]:
    if (await conn.execute(select(users.c.id).where(users.c.id == request.customer_id))).first() is None:
        raise UnknownReference(["body", "customer_id"], "unknown customer")
    skus = {item.sku for item in request.items}
    rows = await conn.execute(select(products.c.sku, products.c.price_cents).where(products.c.sku.in_(skus)))
    prices = {row.sku: row.price_cents for row in rows}
    for index, item in enumerate(request.items):
        if item.sku not in prices:
            raise UnknownReference(["body", "items", index, "sku"], "unknown SKU")
    return [Line(sku=item.sku, quantity=item.quantity, unit_price_cents=prices[item.sku]) for item in request.items]


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
    """Compare-and-set on the status, so a stale or foreign event cannot rewind an order."""
    result = await conn.execute(
        update(orders)
        .where(orders.c.id == order_id, orders.c.status == source)
        .values(status=target, updated_at=func.now())
        .returning(func.extract("epoch", func.now() - orders.c.created_at))
    )
    age = result.scalar_one_or_none()
    if age is None:
        raise InvalidTransition(f"order {order_id} is not {source}, cannot become {target}")
    await conn.execute(insert(order_status_history).values(order_id=order_id, status=target, reason=reason))
    if target in FINAL:
        ORDER_COMPLETION_SECONDS.labels(target).observe(float(age))
