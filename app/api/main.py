"""`python -m app api`: the FastAPI application, its health endpoints and metrics."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import devauth, errors, sync_baseline
from app.api.auth import KeysUnavailable, TokenVerifier, Unauthorized
from app.api.deps import CacheDep, ShardsDep
from app.api.routes import router
from app.core.metrics import IN_FLIGHT, OUTBOX_BACKLOG, REQUEST_SECONDS
from app.core.settings import Settings
from app.store import outbox
from app.store.cache import Cache, make_redis
from app.store.db import Database
from app.store.orders import IdempotencyKeyReused, UnknownReference
from app.store.routing import Shards
from app.web import serve

log = logging.getLogger(__name__)
READY_TIMEOUT_SECONDS = 1.0


class MetricsMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware), so measuring costs microseconds per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        code = 500

        async def record_status(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        IN_FLIGHT.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, record_status)
        finally:
            IN_FLIGHT.dec()
            route = scope.get("route")
            # The route template, not the raw path: ids in labels would explode cardinality.
            template = getattr(route, "path", "unmatched")
            REQUEST_SECONDS.labels(scope["method"], template, str(code)).observe(time.perf_counter() - start)


async def _refresh_outbox_gauge(shards: Shards, interval: float) -> None:
    while True:
        try:
            total = 0
            for database in shards:
                async with database.read(primary=True) as conn:
                    total += await outbox.backlog(conn)
            OUTBOX_BACKLOG.set(total)
        except Exception:
            log.exception("could not measure the outbox backlog")
        await asyncio.sleep(interval)


def create_app(settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        shards = Shards(settings)
        await shards.check_at_start()
        app.state.shards = shards
        app.state.database = shards.home
        redis = make_redis(settings)
        app.state.cache = Cache(settings, redis)
        app.state.sync_workers = sync_baseline.specs(settings) if settings.sync_baseline else []
        gauge = asyncio.create_task(_refresh_outbox_gauge(shards, settings.outbox_gauge_interval_seconds))
        try:
            yield
        finally:
            gauge.cancel()
            await redis.aclose()
            await shards.dispose()

    # FastAPI's native OpenTelemetry hooks probe the global providers (environment lookups) on
    # every request: a tenth of the API's CPU in a profile. The app exports Prometheus metrics.
    app = FastAPI(title="orders", lifespan=lifespan, telemetry={"tracing": False, "metrics": False, "logs": False})
    # Built here, not in the lifespan: an API without an issuer must not start at all.
    app.state.verifier = TokenVerifier(settings)
    app.state.customers = {}
    app.add_middleware(MetricsMiddleware)
    app.include_router(router)
    errors.install(app, settings.db_unavailable_retry_after_seconds)
    if settings.auth_local_dev:  # local sign-in; deployed stacks refuse the flag, so never mounted there
        app.include_router(devauth.router)
    if settings.serve_web:  # local runs only: in AWS the bucket behind CloudFront serves it
        serve.mount(app)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse(
            exc.body, status_code=status.HTTP_401_UNAUTHORIZED, headers={"WWW-Authenticate": exc.challenge}
        )

    @app.exception_handler(KeysUnavailable)
    async def keys_unavailable(request: Request, exc: KeysUnavailable) -> JSONResponse:
        return JSONResponse(
            {"detail": "cannot verify tokens right now"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(UnknownReference)
    async def unknown_reference(request: Request, exc: UnknownReference) -> JSONResponse:
        detail = [{"loc": exc.loc, "msg": str(exc), "type": "unknown_reference"}]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(IdempotencyKeyReused)
    async def key_reused(request: Request, exc: IdempotencyKeyReused) -> JSONResponse:
        # 422 as in the IETF Idempotency-Key draft: same key, different payload.
        detail = [
            {
                "loc": ["header", "idempotency-key"],
                "msg": "idempotency key already used with a different request body",
                "type": "idempotency_key_reused",
            }
        ]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    # Probes and metrics are for the cluster only (the edge does not route them): not part of
    # the public contract, so not in the OpenAPI.
    @app.get("/livez", include_in_schema=False)
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(shards: ShardsDep, cache: CacheDep) -> JSONResponse:
        """Ready means: can accept orders. That needs the primary only (with shards: the home
        shard's, which every order needs for its prices and every first sign-in for the
        directory; the other shards are reported but do not fail readiness, since one shard
        down must not take every pod out of the load balancer for every customer).

        The check uses its own connection, not the request pool: a burst that holds every pooled
        connection would otherwise fail every pod's readiness at once.

        Kafka is not checked (the outbox decouples it) and Redis is reported but not required
        (reads fall back to the database); failing on either would take every pod out of the
        load balancer for an outage the app is built to absorb.
        """

        async def ping(database: Database) -> str:
            try:
                async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                    await database.ping()
            except Exception as exc:
                log.warning("not ready: primary of shard %s unreachable: %r", database.name, exc)
                return "down"
            return "ok"

        states = dict(zip(shards.names, await asyncio.gather(*(ping(db) for db in shards)), strict=True))
        checks: dict[str, object] = {
            "database": states[shards.home.name],
            "cache": "ok" if cache.available else "degraded",
        }
        if len(states) > 1:
            checks["shards"] = states
        ready = checks["database"] == "ok"
        return JSONResponse(checks, status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


async def _check_shards(settings: Settings) -> None:
    shards = Shards(settings)
    try:
        await shards.check_at_start()
    finally:
        await shards.dispose()


def main(settings: Settings) -> None:
    # Before uvicorn, so an unreachable shard ends the process with the same one-line error as
    # the other processes (the lifespan checks again for apps built in-process).
    asyncio.run(_check_shards(settings))
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop=settings.http_loop,
        http=settings.http_parser,
        # Behind the ALB the pod must finish in-flight requests within terminationGracePeriod.
        timeout_graceful_shutdown=20,
    )
