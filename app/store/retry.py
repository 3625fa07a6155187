"""What counts as "the database went away", and a transaction that is retried when it does.

A PostgreSQL restart or failover ends every session with a FATAL `57P01 admin_shutdown` sent to
each connection, then closes the socket. asyncpg reads that unsolicited ErrorResponse on a
connection with no operation running and parks its protocol in the error-consume state (2),
waiting for a ReadyForQuery that never comes. A statement issued before the socket close is
processed fails with `cannot switch to state 1x; another operation (2) is in progress`: no
second coroutine is involved. SQLAlchemy's asyncpg dialect calls an error a disconnect only once
the socket is closed, so that error (and the same error during pre-ping) became a plain 500 and
the pool kept the dead connection's siblings. `mark_disconnects` classifies these errors as
disconnects, so SQLAlchemy invalidates the pool; `run_transaction` retries the work on a fresh
connection.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.metrics import DB_RETRIES
from app.store.overlay import is_fenced

log = logging.getLogger(__name__)
T = TypeVar("T")

# Server-side reasons a session ended or cannot start: shutdown, crash, still starting, failover.
_GONE = (
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
)
# asyncpg's protocol after a FATAL it read while idle (2), or after the socket closed (failed).
_DEAD_PROTOCOL = ("another operation (2) is in progress", 'protocol is in the "failed" state', "connection is closed")


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def is_gone(exc: BaseException) -> bool:
    """True when the error means the server or the connection is gone, not a bad statement."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    for link in _chain(exc):
        if isinstance(link, (*_GONE, OSError, TimeoutError)):
            return True
        if isinstance(link, asyncpg.InternalClientError | asyncpg.InterfaceError) and any(
            marker in str(link) for marker in _DEAD_PROTOCOL
        ):
            return True
    return False


def is_unavailable(exc: BaseException) -> bool:
    """Errors the API answers with 503: the database is gone, every pooled connection is busy, or
    the customer is fenced for a move between shards (its writes resume on the new shard)."""
    return isinstance(exc, PoolTimeout) or is_gone(exc) or is_fenced(exc)


def mark_disconnects(engine: AsyncEngine) -> None:
    """Teach SQLAlchemy the disconnects its asyncpg dialect misses (also during pre-ping), so it
    drops the connection and recycles the pool's older ones instead of handing them out again."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _classify(context: ExceptionContext) -> None:
        if not context.is_disconnect and is_gone(context.original_exception):
            context.is_disconnect = True


async def run_transaction(
    engine: AsyncEngine,
    work: Callable[[AsyncConnection], Awaitable[T]],
    *,
    attempts: int,
    backoff_seconds: float,
    retry_after_commit_sent: bool,
    single_statement: bool = False,
) -> T:
    """`work` in one transaction, tried again on a fresh connection when the connection breaks.

    A break before COMMIT is sent rolled everything back, so retrying is always safe. A break
    during COMMIT leaves the outcome unknown: retried only when the caller says the work is
    idempotent (an order with an Idempotency-Key finds itself on the second try); otherwise the
    error goes up and the client decides. `single_statement` work (atomic on its own, like order
    placement) runs in autocommit, two round trips fewer; it commits as it runs, so a break
    during it is treated as a break during COMMIT.
    """
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            async with engine.connect() as conn:
                if single_statement:
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                    committing = True
                    return await work(conn)
                transaction = await conn.begin()
                result = await work(conn)
                committing = True
                await transaction.commit()
                return result
        except Exception as exc:
            retryable = is_gone(exc) and (retry_after_commit_sent or not committing)
            if not retryable or attempt == attempts:
                raise
            DB_RETRIES.inc()
            log.warning("database connection lost (attempt %d of %d), retrying: %r", attempt, attempts, exc)
            await asyncio.sleep(backoff_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # the loop returns or raises
