"""Builders shared by the tests: products, orders in a given state, Kafka records."""

import asyncio
import functools
import time
import uuid
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from sqlalchemy import insert, select

from app.api.schemas import LineItem, OrderRequest
from app.core.settings import Settings
from app.dev.issuer import LocalIssuer
from app.pipeline.events import Envelope, InventoryUpdated, OrderPlaced, PaymentProcessed
from app.store import orders
from app.store.db import Database
from app.store.tables import outbox, products

CUSTOMER = "cust-0001"
WAIT_SECONDS = 15.0


@functools.cache
def local_issuer() -> LocalIssuer:
    """The tests' identity provider: one per test process, its JWKS on a loopback port. The test
    databases link each seeded customer to the subject equal to its id, so
    ``auth(CUSTOMER)`` signs in as cust-0001."""
    return LocalIssuer().start()


def auth(customer: str = CUSTOMER, **claims: object) -> dict[str, str]:
    """An Authorization header with a valid access token for ``customer`` (claims override)."""
    return local_issuer().headers(customer, **claims)


def order_body(sku: str = "SKU-0001", quantity: int = 1) -> dict[str, object]:
    return {
        "currency": "EUR",
        "items": [{"sku": sku, "quantity": quantity}],
    }


async def new_product(database: Database, stock: int, price_cents: int = 500) -> str:
    sku = f"TEST-{uuid.uuid4().hex[:10].upper()}"
    async with database.write() as conn:
        await conn.execute(insert(products).values(sku=sku, name="test product", price_cents=price_cents, stock=stock))
    return sku


async def stock_of(database: Database, sku: str) -> int:
    async with database.read(primary=True) as conn:
        value: int = (await conn.execute(select(products.c.stock).where(products.c.sku == sku))).scalar_one()
        return value


async def place_order(database: Database, settings: Settings, sku: str, quantity: int = 1) -> uuid.UUID:
    request = OrderRequest(customer_id=CUSTOMER, currency="EUR", items=[LineItem(sku=sku, quantity=quantity)])
    async with database.write() as conn:
        placed = await orders.place(conn, request, topic=settings.topic_orders, idempotency_key=None)
    return placed.order_id


async def status_of(database: Database, order_id: uuid.UUID) -> str:
    async with database.read(primary=True) as conn:
        order = await orders.load(conn, order_id)
    assert order is not None, f"order {order_id} not found"
    return str(order["status"])


async def advance(database: Database, order_id: uuid.UUID, *steps: str) -> None:
    """Walk an order through statuses directly, to set up a worker's precondition."""
    current = orders.PENDING
    async with database.write() as conn:
        for target in steps:
            await orders.transition(conn, order_id, source=current, target=target)
            current = target


def record(topic: str, value: bytes, *, offset: int = 0, key: bytes | None = None) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=offset,
        timestamp=int(time.time() * 1000),
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key or b""),
        serialized_value_size=len(value),
        headers=[],
    )


def envelope_record(topic: str, envelope: Envelope, *, offset: int = 0) -> ConsumerRecord[bytes, bytes]:
    return record(
        topic,
        envelope.model_dump_json().encode(),
        offset=offset,
        key=str(envelope.order_id).encode(),
    )


async def eventually(check: Callable[[], Awaitable[bool]], within: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {within}s")


async def read_topic(
    settings: Settings, topic: str, count: int, within: float = WAIT_SECONDS
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read `count` records from the start of `topic` without a group (no offsets committed)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest")
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + within
        while len(found) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                found.extend(records)
    finally:
        await consumer.stop()
    return found


async def outbox_events(database: Database, order_id: uuid.UUID, event_type: str) -> list[Envelope]:
    async with database.read(primary=True) as conn:
        rows = await conn.execute(
            select(outbox.c.payload)
            .where(outbox.c.key == str(order_id), outbox.c.event_type == event_type)
            .order_by(outbox.c.id)
        )
        return [Envelope.model_validate(row.payload) for row in rows]


async def placed_event(database: Database, order_id: uuid.UUID) -> Envelope:
    return (await outbox_events(database, order_id, "OrderPlaced"))[0]


async def paid_order(database: Database, settings: Settings, sku: str, quantity: int = 1) -> tuple[uuid.UUID, Envelope]:
    """An order in status paid, and the PaymentProcessed event the inventory worker consumes."""
    order_id = await place_order(database, settings, sku, quantity)
    placed = (await placed_event(database, order_id)).event
    assert isinstance(placed, OrderPlaced)
    await advance(database, order_id, orders.PAID)
    processed = PaymentProcessed(
        customer_id=placed.customer_id,
        payment_id=uuid.uuid4(),
        amount_cents=placed.total_cents,
        currency=placed.currency,
        items=placed.items,
    )
    return order_id, Envelope(order_id=order_id, event=processed)


async def reserved_order(database: Database, settings: Settings, sku: str) -> tuple[uuid.UUID, Envelope]:
    """An order in status reserved, and the InventoryUpdated event fulfillment consumes."""
    order_id = await place_order(database, settings, sku)
    placed = (await placed_event(database, order_id)).event
    assert isinstance(placed, OrderPlaced)
    await advance(database, order_id, orders.PAID, orders.RESERVED)
    return order_id, Envelope(order_id=order_id, event=InventoryUpdated(items=placed.items))
