"""503 with Retry-After when the database is unreachable, instead of a 500 and a traceback.

A restart or failover of the primary, a refused connection, or a pool with every connection busy
is a condition the client can wait out; the body says which, in the same `detail` list shape
FastAPI uses for 422s.
"""

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core.metrics import DB_UNAVAILABLE
from app.store.retry import is_unavailable

log = logging.getLogger(__name__)


def unavailable_response(retry_after_seconds: int) -> JSONResponse:
    detail = [{"loc": [], "msg": "the database is unavailable, retry later", "type": "database_unavailable"}]
    return JSONResponse(
        {"detail": detail},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(retry_after_seconds)},
    )


def install(app: FastAPI, retry_after_seconds: int) -> None:
    """Answer database unavailability with 503; any other database error stays a 500 (a bug).

    Registered per class, so the handlers run inside the app's middleware (the metrics see the
    503), not in Starlette's outermost error middleware as an `Exception` handler would.
    """

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if not is_unavailable(exc):
            log.error("database error", exc_info=exc)
            return JSONResponse({"detail": "internal server error"}, status_code=500)
        DB_UNAVAILABLE.inc()
        log.warning("database unavailable, answering 503: %r", exc)
        return unavailable_response(retry_after_seconds)

    for kind in (DBAPIError, PoolTimeout, OSError):
        app.add_exception_handler(kind, database_error)
