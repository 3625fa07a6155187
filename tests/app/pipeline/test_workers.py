"""Worker handlers through the shared runtime: happy paths, redelivery, oversell, dead letters."""

import asyncio
import json
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, func, select

from app.core.settings import Settings
from app.pipeline import fulfillment, inventory, notification, payment
from app.pipeline.events import Envelope, InventoryUpdated, PaymentProcessed
from app.pipeline.kafka import dlq
from app.pipeline.worker import Worker, WorkerSpec
from app.store import orders
from app.store.cache import Cache
from app.store.db import Database
from app.store.tables import notifications, order_status_history, shipments
from tests.app.helpers import (
    envelope_record,
    new_product,
    outbox_events,
    paid_order,
    place_order,
    placed_event,
    read_topic,
    record,
    reserved_order,
    status_of,
    stock_of,
)

pytestmark = pytest.mark.asyncio
MakeWorker = Callable[[WorkerSpec], Worker]


@pytest.fixture
def make_worker(settings: Settings, database: Database, cache: Cache, producer: AIOKafkaProducer) -> MakeWorker:
    return lambda spec: Worker(spec, settings, database, cache, producer)


async def _history(database: Database, order_id: object) -> list[str]:
    async with database.read(primary=True) as conn:
        rows = await conn.execute(
            select(order_status_history.c.status)
            .where(order_status_history.c.order_id == order_id)
            .order_by(order_status_history.c.id)
        )
        return list(rows.scalars())


async def _count(database: Database, table: Table, order_id: object) -> int:
    async with database.read(primary=True) as conn:
        query = select(func.count()).select_from(table).where(table.c.order_id == order_id)
        return int((await conn.execute(query)).scalar_one())


# payment


async def test_payment_marks_order_paid_and_emits_payment_processed(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    order_id = await place_order(database, settings, "SKU-0001")
    placed = await placed_event(database, order_id)
    outcome = await make_worker(payment.spec(settings)).process(envelope_record(settings.topic_orders, placed))
    assert outcome == "processed"
    assert await status_of(database, order_id) == orders.PAID
    assert len(await outbox_events(database, order_id, "PaymentProcessed")) == 1


async def test_payment_declined_marks_order_payment_failed(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    declining = settings.model_copy(update={"payment_failure_rate": 1.0})
    order_id = await place_order(database, settings, "SKU-0001")
    placed = await placed_event(database, order_id)
    await make_worker(payment.spec(declining)).process(envelope_record(settings.topic_orders, placed))
    assert await status_of(database, order_id) == orders.PAYMENT_FAILED
    assert len(await outbox_events(database, order_id, "PaymentFailed")) == 1


async def test_payment_redelivered_event_is_a_no_op(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    order_id = await place_order(database, settings, "SKU-0001")
    placed = envelope_record(settings.topic_orders, await placed_event(database, order_id))
    worker = make_worker(payment.spec(settings))
    await worker.process(placed)
    assert await worker.process(placed) == "duplicate"
    assert await _history(database, order_id) == ["pending", "paid"]
    assert len(await outbox_events(database, order_id, "PaymentProcessed")) == 1


# inventory


async def test_inventory_reserves_stock_and_emits_inventory_updated(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    sku = await new_product(database, stock=10)
    order_id, event = await paid_order(database, settings, sku, quantity=4)
    await make_worker(inventory.spec(settings)).process(envelope_record(settings.topic_payments, event))
    assert await status_of(database, order_id) == orders.RESERVED
    assert await stock_of(database, sku) == 6
    assert len(await outbox_events(database, order_id, "InventoryUpdated")) == 1


async def test_inventory_marks_order_out_of_stock_without_touching_stock(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    sku = await new_product(database, stock=2)
    order_id, event = await paid_order(database, settings, sku, quantity=3)
    await make_worker(inventory.spec(settings)).process(envelope_record(settings.topic_payments, event))
    assert await status_of(database, order_id) == orders.OUT_OF_STOCK
    assert await stock_of(database, sku) == 2
    assert len(await outbox_events(database, order_id, "OutOfStock")) == 1


async def test_inventory_redelivered_event_reserves_once(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    sku = await new_product(database, stock=10)
    _, event = await paid_order(database, settings, sku, quantity=4)
    worker = make_worker(inventory.spec(settings))
    await worker.process(envelope_record(settings.topic_payments, event))
    assert await worker.process(envelope_record(settings.topic_payments, event)) == "duplicate"
    assert await stock_of(database, sku) == 6


async def test_inventory_never_oversells_under_concurrent_orders(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    sku = await new_product(database, stock=3)
    paid = [await paid_order(database, settings, sku) for _ in range(10)]
    worker = make_worker(inventory.spec(settings))
    await asyncio.gather(*(worker.process(envelope_record(settings.topic_payments, event)) for _, event in paid))
    statuses = [await status_of(database, order_id) for order_id, _ in paid]
    assert statuses.count(orders.RESERVED) == 3
    assert statuses.count(orders.OUT_OF_STOCK) == 7
    assert await stock_of(database, sku) == 0


async def test_inventory_ignores_payment_failed_events(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    declining = settings.model_copy(update={"payment_failure_rate": 1.0})
    order_id = await place_order(database, settings, "SKU-0001")
    await make_worker(payment.spec(declining)).process(
        envelope_record(settings.topic_orders, await placed_event(database, order_id))
    )
    failed = (await outbox_events(database, order_id, "PaymentFailed"))[0]
    outcome = await make_worker(inventory.spec(settings)).process(envelope_record(settings.topic_payments, failed))
    assert outcome == "skipped"


# notification


async def test_notification_records_the_confirmation_email(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    order_id, event = await paid_order(database, settings, "SKU-0001")
    await make_worker(notification.spec(settings)).process(envelope_record(settings.topic_payments, event))
    async with database.read(primary=True) as conn:
        sent = (await conn.execute(select(notifications).where(notifications.c.order_id == order_id))).one()
    assert (sent.kind, sent.recipient) == ("order_confirmed", "cust-0001@example.com")


async def test_notification_redelivered_event_sends_one_email(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    order_id, event = await paid_order(database, settings, "SKU-0001")
    worker = make_worker(notification.spec(settings))
    await worker.process(envelope_record(settings.topic_payments, event))
    await worker.process(envelope_record(settings.topic_payments, event))
    assert await _count(database, notifications, order_id) == 1


async def test_notification_provider_outage_dead_letters_with_error_headers(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    outage = settings.model_copy(update={"notification_failure_rate": 1.0})
    order_id, event = await paid_order(database, settings, "SKU-0001")
    outcome = await make_worker(notification.spec(outage)).process(
        envelope_record(settings.topic_payments, event, offset=7)
    )
    assert outcome == "dead_lettered"
    [dead] = await read_topic(settings, dlq(settings.topic_payments), 1)
    headers = {name: value.decode() for name, value in dead.headers}
    assert headers["error-type"] == "ProviderUnavailable"
    assert headers["original-topic"] == settings.topic_payments
    assert headers["original-offset"] == "7"
    assert headers["consumer"] == "notification"
    assert headers["attempts"] == str(settings.consumer_max_attempts)
    assert await _count(database, notifications, order_id) == 0


# fulfillment


async def test_fulfillment_creates_shipment_and_marks_order_fulfilled(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    order_id, event = await reserved_order(database, settings, "SKU-0001")
    await make_worker(fulfillment.spec(settings)).process(envelope_record(settings.topic_inventory, event))
    assert await status_of(database, order_id) == orders.FULFILLED
    assert await _count(database, shipments, order_id) == 1
    assert len(await outbox_events(database, order_id, "OrderFulfilled")) == 1


async def test_fulfillment_redelivered_event_creates_one_shipment(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    order_id, event = await reserved_order(database, settings, "SKU-0001")
    worker = make_worker(fulfillment.spec(settings))
    await worker.process(envelope_record(settings.topic_inventory, event))
    assert await worker.process(envelope_record(settings.topic_inventory, event)) == "duplicate"
    assert await _count(database, shipments, order_id) == 1


# poison events


async def test_malformed_event_goes_to_dead_letter_topic_with_error_headers(
    settings: Settings, make_worker: MakeWorker
) -> None:
    poison = record(settings.topic_orders, b"{not json", offset=3, key=b"k")
    assert await make_worker(payment.spec(settings)).process(poison) == "dead_lettered"
    [dead] = await read_topic(settings, dlq(settings.topic_orders), 1)
    headers = {name: value.decode() for name, value in dead.headers}
    assert dead.value == b"{not json"
    assert headers["error-type"] == "ValidationError"
    assert headers["original-topic"] == settings.topic_orders
    assert headers["original-partition"] == "0"
    assert headers["original-offset"] == "3"
    assert headers["consumer"] == "payment"
    assert "error-message" in headers


async def test_event_with_unknown_schema_version_is_dead_lettered(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    order_id = await place_order(database, settings, "SKU-0001")
    future = (await placed_event(database, order_id)).model_dump(mode="json") | {"version": 2}
    poison = record(settings.topic_orders, json.dumps(future).encode())
    assert await make_worker(payment.spec(settings)).process(poison) == "dead_lettered"
    assert await status_of(database, order_id) == orders.PENDING


async def test_event_failing_every_attempt_is_dead_lettered_after_bounded_retries(
    settings: Settings, database: Database, make_worker: MakeWorker
) -> None:
    # An order already paid: fulfillment's compare-and-set transition fails on every attempt.
    order_id, event = await paid_order(database, settings, "SKU-0001")
    assert isinstance(event.event, PaymentProcessed)
    wrong_state = Envelope(order_id=order_id, event=InventoryUpdated(items=event.event.items))
    outcome = await make_worker(fulfillment.spec(settings)).process(
        envelope_record(settings.topic_inventory, wrong_state)
    )
    assert outcome == "dead_lettered"
    [dead] = await read_topic(settings, dlq(settings.topic_inventory), 1)
    assert dict(dead.headers)["error-type"] == b"InvalidTransition"
    assert await _count(database, shipments, order_id) == 0
