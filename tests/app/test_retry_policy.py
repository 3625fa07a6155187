"""Which failures a worker retries without limit (infrastructure) and which it dead-letters."""

import pytest
from sqlalchemy.exc import DBAPIError

from app.orders import InvalidTransition
from app.service import backoff_seconds
from app.settings import Settings
from app.worker import is_transient


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


def test_backoff_doubles_and_is_capped() -> None:
    settings = Settings(
        db_writer_url="postgresql+asyncpg://x@h/db",
        consumer_backoff_base_ms=100,
        consumer_backoff_max_ms=350,
    )
    delays = [backoff_seconds(settings, attempt) for attempt in (1, 2, 3, 4)]
    assert delays == [0.1, 0.2, 0.35, 0.35]
