"""The benchmark's synchronous baseline: one request runs the whole order chain inline."""

import pytest
from sqlalchemy import func, select

from app.api.main import create_app
from app.core.settings import Settings
from app.store.db import Database
from app.store.tables import outbox
from tests.app.conftest import api_client
from tests.app.helpers import order_body, status_of

pytestmark = pytest.mark.asyncio


async def test_a_synchronous_order_is_fulfilled_when_the_post_returns(settings: Settings, database: Database) -> None:
    sync = settings.model_copy(update={"sync_baseline": True})
    async for client in api_client(create_app(sync)):
        response = await client.post("/api/orders", json=order_body("SKU-0006", 1))
    assert response.status_code == 202, response.text
    order_id = response.json()["id"]
    assert await status_of(database, order_id) == "fulfilled"
    async with database.read(primary=True) as conn:
        left = await conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.key == order_id, outbox.c.published_at.is_(None))
        )
    assert left.scalar_one() == 0, "events applied inline were left for the relay"
