"""Which failures a worker retries without limit (infrastructure) and which it dead-letters."""

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection, dialect
from sqlalchemy.exc import DBAPIError

from app.core.service import backoff_seconds
from app.core.settings import Settings
from app.pipeline.worker import is_transient
from app.store.orders import InvalidTransition


def _dbapi(orig: Exception, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", None, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionRefusedError(), True),
        (_dbapi(Exception("terminating connection"), invalidated=True), True),
        (_dbapi(OSError("connection reset")), True),
        (_dbapi(Exception("violates check constraint")), False),
        (InvalidTransition("order is not paid"), False),
        (ValueError("bad payload"), False),
    ],
)
def test_only_infrastructure_errors_are_transient(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def _from_asyncpg(error: Exception) -> DBAPIError:
    """What a statement raises when asyncpg fails: the dialect translates the driver error into
    its DBAPI error (chained from the original) and SQLAlchemy wraps that in a DBAPIError."""
    dbapi = dialect.import_dbapi()
    try:
        AsyncAdapt_asyncpg_connection._handle_exception_no_connection(dbapi, error)
    except dbapi.Error as translated:
        return DBAPIError.instance("SELECT 1", None, translated, dbapi.Error)
    raise AssertionError("the dialect did not translate the error")


def _pg(cls: type[asyncpg.PostgresError]) -> Exception:
    return cls(f"{cls.__name__} from the server")


@pytest.mark.parametrize(
    "error",
    [
        _pg(asyncpg.CannotConnectNowError),  # 57P03: the database system is starting up
        _pg(asyncpg.TooManyConnectionsError),  # 53300
        _pg(asyncpg.AdminShutdownError),  # 57P01: terminating connection (failover, restart)
        _pg(asyncpg.CrashShutdownError),  # 57P02
        _pg(asyncpg.ReadOnlySQLTransactionError),  # 25006: the old writer, now a replica
        _pg(asyncpg.ConnectionFailureError),  # 08006
        _pg(asyncpg.ConnectionDoesNotExistError),  # 08003
        _pg(asyncpg.ClientCannotConnectError),  # 08001
    ],
    ids=lambda error: type(error).__name__,
)
def test_database_failover_errors_are_transient(error: Exception) -> None:
    assert is_transient(_from_asyncpg(error)) is True


def test_asyncpg_interface_error_is_transient() -> None:
    wrapped = _from_asyncpg(asyncpg.InterfaceError("connection is closed"))
    assert isinstance(wrapped, sa_exc.InterfaceError)
    assert is_transient(wrapped) is True


def test_pool_checkout_timeout_is_transient() -> None:
    assert is_transient(sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached")) is True


@pytest.mark.parametrize(
    "error",
    [
        _pg(asyncpg.UniqueViolationError),
        _pg(asyncpg.CheckViolationError),
        _pg(asyncpg.ForeignKeyViolationError),
        _pg(asyncpg.InvalidTextRepresentationError),
        _pg(asyncpg.UndefinedColumnError),
    ],
    ids=lambda error: type(error).__name__,
)
def test_data_and_schema_errors_are_not_transient(error: Exception) -> None:
    assert is_transient(_from_asyncpg(error)) is False


def test_backoff_doubles_and_is_capped() -> None:
    settings = Settings(
        db_writer_url="postgresql+asyncpg://x@h/db",
        consumer_backoff_base_ms=100,
        consumer_backoff_max_ms=350,
    )
    delays = [backoff_seconds(settings, attempt) for attempt in (1, 2, 3, 4)]
    assert delays == [0.1, 0.2, 0.35, 0.35]
