"""POST /api/orders: validation, idempotency and the transactional outbox."""

import asyncio
import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.api.schemas import LineItem, OrderRequest
from app.core.settings import Settings
from app.store import orders as orders_store
from app.store.db import Database
from app.store.tables import order_status_history, orders, outbox
from tests.app.helpers import CUSTOMER, order_body

pytestmark = pytest.mark.asyncio


async def _row_counts(database: Database) -> tuple[int, int]:
    async with database.read(primary=True) as conn:
        order_count = (await conn.execute(select(func.count()).select_from(orders))).scalar_one()
        event_count = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
    return order_count, event_count


async def _assert_rejected(client: AsyncClient, database: Database, body: dict[str, Any], loc: list[Any]) -> None:
    before = await _row_counts(database)
    response = await client.post("/api/orders", json=body)
    assert response.status_code == 422, response.text
    locations = [error["loc"] for error in response.json()["detail"]]
    assert loc in locations, f"expected an error at {loc}, got {locations}"
    assert await _row_counts(database) == before, "a rejected order wrote rows"


async def test_post_order_returns_202_with_location(client: AsyncClient) -> None:
    response = await client.post("/api/orders", json=order_body())
    assert response.status_code == 202
    order_id = response.json()["id"]
    assert response.json()["status"] == "pending"
    assert response.headers["location"] == f"/api/orders/{order_id}"


async def test_post_order_writes_order_and_order_placed_event_together(client: AsyncClient, database: Database) -> None:
    response = await client.post("/api/orders", json=order_body("SKU-0002", 3))
    order_id = response.json()["id"]
    async with database.read(primary=True) as conn:
        order = (await conn.execute(select(orders).where(orders.c.id == order_id))).one()
        event = (await conn.execute(select(outbox).where(outbox.c.key == order_id))).one()
    assert order.status == "pending"
    assert order.total_cents == 3 * 200
    assert event.event_type == "OrderPlaced"
    assert event.published_at is None
    assert event.payload["event"]["items"] == [{"sku": "SKU-0002", "quantity": 3, "unit_price_cents": 200}]


async def test_post_order_rejects_quantity_over_100(client: AsyncClient, database: Database) -> None:
    await _assert_rejected(client, database, order_body(quantity=101), ["body", "items", 0, "quantity"])


async def test_post_order_rejects_quantity_zero(client: AsyncClient, database: Database) -> None:
    await _assert_rejected(client, database, order_body(quantity=0), ["body", "items", 0, "quantity"])


async def test_post_order_rejects_malformed_sku(client: AsyncClient, database: Database) -> None:
    await _assert_rejected(client, database, order_body(sku="sku 1;drop"), ["body", "items", 0, "sku"])


async def test_post_order_rejects_unknown_sku(client: AsyncClient, database: Database) -> None:
    await _assert_rejected(client, database, order_body(sku="NOPE-0000"), ["body", "items", 0, "sku"])


async def test_post_order_rejects_empty_items(client: AsyncClient, database: Database) -> None:
    body = order_body()
    body["items"] = []
    await _assert_rejected(client, database, body, ["body", "items"])


async def test_post_order_rejects_more_than_50_items(client: AsyncClient, database: Database) -> None:
    body = order_body()
    body["items"] = [{"sku": "SKU-0001", "quantity": 1}] * 51
    await _assert_rejected(client, database, body, ["body", "items"])


async def test_post_order_rejects_non_iso_currency(client: AsyncClient, database: Database) -> None:
    body = order_body()
    body["currency"] = "ABC"
    await _assert_rejected(client, database, body, ["body", "currency"])


async def test_post_order_rejects_lowercase_currency(client: AsyncClient, database: Database) -> None:
    body = order_body()
    body["currency"] = "eur"
    await _assert_rejected(client, database, body, ["body", "currency"])


async def test_post_order_rejects_malformed_customer_id(client: AsyncClient, database: Database) -> None:
    body = order_body()
    body["customer_id"] = "x" * 65
    await _assert_rejected(client, database, body, ["body", "customer_id"])


async def _assert_forbidden(client: AsyncClient, database: Database, customer_id: str) -> Any:
    before = await _row_counts(database)
    response = await client.post("/api/orders", json=order_body() | {"customer_id": customer_id})
    assert response.status_code == 403, response.text
    assert await _row_counts(database) == before, "a rejected order wrote rows"
    return response.json()


async def test_post_order_cannot_be_placed_for_another_customer(client: AsyncClient, database: Database) -> None:
    await _assert_forbidden(client, database, "cust-0002")


async def test_post_order_for_an_unknown_customer_looks_like_one_for_another(
    client: AsyncClient, database: Database
) -> None:
    assert await _assert_forbidden(client, database, "nobody") == await _assert_forbidden(client, database, "cust-0002")


async def test_post_order_naming_the_signed_in_customer_is_accepted(client: AsyncClient) -> None:
    body = order_body() | {"customer_id": CUSTOMER}
    response = await client.post("/api/orders", json=body)
    assert response.status_code == 202, response.text


async def test_post_order_is_for_the_signed_in_customer(client: AsyncClient) -> None:
    order_id = (await client.post("/api/orders", json=order_body())).json()["id"]
    assert (await client.get(f"/api/orders/{order_id}")).json()["customer_id"] == CUSTOMER


async def test_retry_with_same_idempotency_key_returns_the_same_order(client: AsyncClient, database: Database) -> None:
    headers = {"Idempotency-Key": "retry-1"}
    first = await client.post("/api/orders", json=order_body(), headers=headers)
    before = await _row_counts(database)
    second = await client.post("/api/orders", json=order_body(), headers=headers)
    assert second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert await _row_counts(database) == before


async def test_concurrent_identical_requests_create_one_order(client: AsyncClient, database: Database) -> None:
    headers = {"Idempotency-Key": "concurrent-1"}
    responses = await asyncio.gather(
        *(client.post("/api/orders", json=order_body(), headers=headers) for _ in range(5))
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    async with database.read(primary=True) as conn:
        count = (
            await conn.execute(
                select(func.count()).select_from(orders).where(orders.c.idempotency_key == "concurrent-1")
            )
        ).scalar_one()
        events = (
            await conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.key == responses[0].json()["id"])
            )
        ).scalar_one()
    assert (count, events) == (1, 1)


async def test_reused_idempotency_key_with_different_body_is_rejected(client: AsyncClient, database: Database) -> None:
    headers = {"Idempotency-Key": "reused-1"}
    await client.post("/api/orders", json=order_body(quantity=1), headers=headers)
    before = await _row_counts(database)
    response = await client.post("/api/orders", json=order_body(quantity=2), headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    assert await _row_counts(database) == before


async def test_get_order_shows_status_history(client: AsyncClient) -> None:
    order_id = (await client.post("/api/orders", json=order_body())).json()["id"]
    response = await client.get(f"/api/orders/{order_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == CUSTOMER
    assert [change["status"] for change in body["history"]] == ["pending"]


async def test_get_unknown_order_is_404(client: AsyncClient) -> None:
    response = await client.get("/api/orders/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404


async def test_history_rows_are_written_with_the_order(client: AsyncClient, database: Database) -> None:
    order_id = (await client.post("/api/orders", json=order_body())).json()["id"]
    async with database.read(primary=True) as conn:
        statuses = (
            (
                await conn.execute(
                    select(order_status_history.c.status).where(order_status_history.c.order_id == order_id)
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["pending"]


@pytest.mark.parametrize("quantity", ["2", True, 1.5])
async def test_post_order_rejects_a_quantity_that_is_not_a_json_integer(
    client: AsyncClient, database: Database, quantity: object
) -> None:
    body = order_body()
    body["items"] = [{"sku": "SKU-0001", "quantity": quantity}]
    await _assert_rejected(client, database, body, ["body", "items", 0, "quantity"])


async def test_post_order_accepts_a_whole_number_written_as_2_0(client: AsyncClient) -> None:
    # JSON Schema's "integer" includes 2.0, and the OpenAPI says integer.
    body = order_body()
    body["items"] = [{"sku": "SKU-0001", "quantity": 2.0}]
    response = await client.post("/api/orders", json=body)
    assert response.status_code == 202, response.text


async def test_post_order_with_an_undecodable_body_is_a_documented_400(client: AsyncClient) -> None:
    response = await client.post("/api/orders", content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    documented = client._transport.app.openapi()["paths"]["/api/orders"]["post"]["responses"]  # type: ignore[attr-defined]
    assert "400" in documented


async def test_an_order_whose_event_cannot_be_written_is_not_written_either(
    database: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = OrderRequest(customer_id=CUSTOMER, currency="EUR", items=[LineItem(sku="SKU-0001", quantity=1)])
    async with database.autocommit() as conn:
        first = await orders_store.place(conn, request, topic=settings.topic_orders, idempotency_key=None)
    async with database.read(primary=True) as conn:
        query = select(outbox.c.event_id).where(outbox.c.key == str(first.order_id))
        taken = (await conn.execute(query)).scalar_one()
    order_id = uuid.uuid4()
    ids = iter([order_id, taken])  # the new order's id, then an event id the outbox already has
    monkeypatch.setattr(orders_store.uuid, "uuid4", lambda: next(ids))
    with pytest.raises(IntegrityError):
        async with database.autocommit() as conn:
            await orders_store.place(conn, request, topic=settings.topic_orders, idempotency_key=None)
    async with database.read(primary=True) as conn:
        found = (
            await conn.execute(select(func.count()).select_from(orders).where(orders.c.id == order_id))
        ).scalar_one()
    assert found == 0, "the order was written without its OrderPlaced event"
