"""A customer being moved between shards: its new orders wait (503, Retry-After), nothing half-written."""

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text

from app.core.settings import Settings
from app.pipeline.worker import is_transient
from app.store.db import Database
from app.store.tables import orders
from tests.app.helpers import CUSTOMER, order_body

pytestmark = pytest.mark.asyncio


async def _fence(database: Database, customer: str) -> None:
    async with database.write() as conn:
        await conn.execute(
            text("INSERT INTO customer_fences (customer_id, target) VALUES (:c, 's1') ON CONFLICT DO NOTHING"),
            {"c": customer},
        )


async def _unfence(database: Database, customer: str) -> None:
    async with database.write() as conn:
        await conn.execute(text("DELETE FROM customer_fences WHERE customer_id = :c"), {"c": customer})


async def test_a_fenced_customers_order_is_503_with_retry_after_and_writes_nothing(
    client: AsyncClient, database: Database, settings: Settings
) -> None:
    async with database.read(primary=True) as conn:
        before = (await conn.execute(select(func.count()).select_from(orders))).scalar_one()
    await _fence(database, CUSTOMER)
    try:
        response = await client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": "fenced-1"})
    finally:
        await _unfence(database, CUSTOMER)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == str(settings.db_unavailable_retry_after_seconds)
    async with database.read(primary=True) as conn:
        assert (await conn.execute(select(func.count()).select_from(orders))).scalar_one() == before
    retried = await client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": "fenced-1"})
    assert retried.status_code == 202, "once the move is over, the same request goes through"


async def test_a_worker_treats_a_fenced_write_as_transient(database: Database) -> None:
    await _fence(database, CUSTOMER)
    try:
        async with database.write() as conn:
            await conn.execute(
                text("UPDATE customer_fences SET phase = 'frozen' WHERE customer_id = :c"), {"c": CUSTOMER}
            )
        with pytest.raises(Exception) as refused:
            async with database.write() as conn:
                await conn.execute(text("UPDATE users SET name = name WHERE id = :c"), {"c": CUSTOMER})
    finally:
        await _unfence(database, CUSTOMER)
    assert isinstance(refused.value, Exception) and is_transient(refused.value), repr(refused.value)
