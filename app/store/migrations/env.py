"""Alembic environment: runs migrations through the app's own engine (so IAM auth applies)."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from app.core.settings import Settings
from app.store.db import make_engine
from app.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


async def _migrate(settings: Settings, url: str) -> None:
    engine = make_engine(url, settings)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


settings: Settings = context.config.attributes["settings"]
# One shard's writer (every shard has the same schema); by default the settings' database.
asyncio.run(_migrate(settings, context.config.attributes.get("url") or settings.db_writer_url))
