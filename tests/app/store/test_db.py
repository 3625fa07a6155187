"""Pooled connections: a connection that died while idle in the pool is replaced before use."""

import asyncpg
import pytest

from app.core.settings import Settings
from app.store import db as db_module
from app.store.db import Database
from tests.app.conftest import PG_ADMIN_DSN

pytestmark = pytest.mark.asyncio


async def test_a_pooled_connection_killed_while_idle_is_replaced_before_use(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
    try:
        async with database.read(primary=True) as conn:
            pid = (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # it has been idle "long enough"
        async with database.read(primary=True) as conn:
            fresh = (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
        assert fresh != pid
    finally:
        await database.dispose()
