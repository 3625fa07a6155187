"""Engines for the primary and the replicas, with read routing and replica fallback."""

import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.core.aws_auth import rds_token
from app.core.settings import DEFAULT_SHARD, Settings
from app.store.retry import is_gone, mark_disconnects, run_transaction

log = logging.getLogger(__name__)
T = TypeVar("T")

# What a dead or unreachable replica raises on connect (asyncpg errors come wrapped).
CONNECT_ERRORS = (OSError, TimeoutError, DBAPIError)
# A pooled connection unused for longer than this is checked with a ping before it is handed out.
IDLE_PING_SECONDS = 10.0


def connect_args(settings: Settings) -> dict[str, Any]:
    # RDS refuses IAM tokens over plaintext, so IAM mode raises a weaker TLS setting to require.
    weak = settings.db_ssl in ("disable", "prefer")
    ssl = "require" if settings.db_auth == "iam" and weak else settings.db_ssl
    return {"timeout": settings.db_connect_timeout_seconds, "ssl": ssl}


def make_engine(url: str, settings: Settings, *, pooled: bool = True) -> AsyncEngine:
    """`pooled=False`: a fresh connection per use (NullPool), outside the request pool."""
    pool: dict[str, Any] = (
        {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            # Recycle before RDS IAM tokens (15 min) matter and before idle-killing proxies do.
            "pool_recycle": 600,
        }
        if pooled
        else {"poolclass": NullPool}
    )
    engine = create_async_engine(url, connect_args=connect_args(settings), **pool)
    mark_disconnects(engine)
    if pooled:
        _ping_when_idle(engine)
    if settings.db_auth == "iam":
        _use_iam_tokens(engine, settings)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's pre-ping on every checkout costs three round trips (BEGIN, a query,
    ROLLBACK on asyncpg): in a profile, an eighth of the API's and the workers' CPU. A
    connection in steady use has just proven itself, so only one idle for IDLE_PING_SECONDS is
    pinged; a dead one is replaced before use (a restart or failover while it sat in the pool).
    A connection that dies while busy surfaces as a transient error either way."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"pooled connection failed its ping: {exc!r}") from exc


def _use_iam_tokens(engine: AsyncEngine, settings: Settings) -> None:
    parsed = make_url(engine.url)
    region = settings.aws_region or ""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _token_as_password(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["password"] = rds_token(
            host=parsed.host or "",
            port=parsed.port or 5432,
            user=parsed.username or "",
            region=region,
        )


class Database:
    """Writes go to the writer. Reads go to a random healthy replica, else to the writer."""

    def __init__(
        self,
        settings: Settings,
        *,
        name: str = DEFAULT_SHARD,
        writer_url: str | None = None,
        reader_urls: Sequence[str] | None = None,
    ) -> None:
        """One shard's primary and replicas; by default the settings' one database. Engines
        connect lazily, on first use."""
        self.settings = settings
        self.name = name
        self.writer_url = writer_url or settings.db_writer_url
        self.writer = make_engine(self.writer_url, settings)
        self.readers = [
            make_engine(url, settings) for url in (settings.db_reader_urls if reader_urls is None else reader_urls)
        ]
        # Readiness gets its own connection: a saturated request pool is not an unready primary.
        self.probe = make_engine(self.writer_url, settings, pooled=False)
        self._down_until: dict[int, float] = {}

    async def ping(self) -> None:
        """`SELECT 1` on the primary over a fresh connection outside the request pool."""
        async with self.probe.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One transaction on the primary, committed on success."""
        async with self.writer.begin() as conn:
            yield conn

    async def transact(
        self,
        work: Callable[[AsyncConnection], Awaitable[T]],
        *,
        idempotent: bool = False,
        single_statement: bool = False,
    ) -> T:
        """`work` in one transaction on the primary, retried on a fresh connection if the
        connection breaks; `idempotent`: also when the break hid whether COMMIT succeeded;
        `single_statement`: work that is one atomic statement, run without BEGIN/COMMIT."""
        return await run_transaction(
            self.writer,
            work,
            attempts=self.settings.db_retry_attempts,
            backoff_seconds=self.settings.db_retry_backoff_ms / 1000,
            retry_after_commit_sent=idempotent,
            single_statement=single_statement,
        )

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A primary connection without BEGIN/COMMIT: for work that is one statement, atomic on
        its own (order placement), two round trips fewer than `write`."""
        async with self.writer.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @asynccontextmanager
    async def read(self, *, primary: bool = False) -> AsyncIterator[AsyncConnection]:
        conn = None if primary else await self._connect_reader()
        if conn is None:
            conn = await self.writer.connect()
        try:
            yield conn
        finally:
            await conn.close()

    async def query(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work` on a replica; if that replica's connection breaks mid-query (the replica
        restarted or failed over), the replica is skipped for a while and `work` runs on the
        writer, so a replica outage costs no request."""
        index, conn = await self._connect_reader_indexed()
        if conn is not None:
            try:
                try:
                    return await work(conn)
                finally:
                    await conn.close()
            except Exception as exc:
                if not is_gone(exc):
                    raise
                log.warning("replica %d lost mid-query, reading from the writer: %r", index, exc)
                self._down_until[index] = time.monotonic() + self.settings.db_reader_down_seconds
        async with self.writer.connect() as primary:
            return await work(primary)

    async def _connect_reader(self) -> AsyncConnection | None:
        return (await self._connect_reader_indexed())[1]

    async def _connect_reader_indexed(self) -> tuple[int, AsyncConnection | None]:
        now = time.monotonic()
        candidates = [i for i in range(len(self.readers)) if self._down_until.get(i, 0.0) <= now]
        random.shuffle(candidates)
        for index in candidates:
            try:
                return index, await self.readers[index].connect()
            except CONNECT_ERRORS as exc:
                log.warning("replica %d unavailable, reading from the writer: %s", index, exc)
                self._down_until[index] = now + self.settings.db_reader_down_seconds
        return -1, None

    async def dispose(self) -> None:
        for engine in (self.writer, *self.readers, self.probe):
            await engine.dispose()
