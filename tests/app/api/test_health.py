"""Health endpoints and metrics of the API and of the non-API processes."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from httpx import AsyncClient

from app.api.main import create_app
from app.core import probes
from app.core.settings import Settings
from app.dev.localbroker import free_port
from tests.app.conftest import api_client
from tests.app.helpers import order_body

pytestmark = pytest.mark.asyncio


async def test_livez_is_ok(client: AsyncClient) -> None:
    assert (await client.get("/livez")).status_code == 200


async def test_readyz_is_ok_with_the_primary_up(client: AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest_asyncio.fixture
async def no_primary_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    down = settings.model_copy(update={"db_writer_url": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x"})
    async for client in api_client(create_app(down)):
        yield client


async def test_readyz_fails_without_the_primary(no_primary_client: AsyncClient) -> None:
    response = await no_primary_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


async def test_metrics_expose_latency_backlog_and_cache_series(client: AsyncClient) -> None:
    await client.post("/api/orders", json=order_body())
    await client.get("/api/products/SKU-0001")
    text = (await client.get("/metrics")).text
    assert 'http_request_duration_seconds_bucket{le="0.1",method="POST",route="/api/orders",status="202"}' in text
    for series in (
        "http_requests_in_flight",
        "outbox_backlog",
        "cache_misses_total",
        "cache_hits_total",
    ):
        assert series in text, f"/metrics lacks {series}"


async def _get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        return await http.get(path)


async def _probes(ready: bool) -> tuple[asyncio.Server, int]:
    async def check() -> bool:
        return ready

    port = free_port()
    return await probes.serve("127.0.0.1", port, check), port


async def test_worker_probe_reports_not_ready_as_503() -> None:
    server, port = await _probes(ready=False)
    async with server:
        assert (await _get(port, "/readyz")).status_code == 503
        assert (await _get(port, "/livez")).status_code == 200


async def test_worker_probe_serves_consumer_lag_metrics() -> None:
    server, port = await _probes(ready=True)
    async with server:
        response = await _get(port, "/metrics")
    assert response.status_code == 200
    assert "kafka_consumer_lag" in response.text


async def test_readyz_is_ok_while_the_request_pool_is_exhausted(settings: Settings) -> None:
    small = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
    app = create_app(small)
    async for client in api_client(app):
        database = app.state.database
        async with database.writer.connect() as held:
            await held.exec_driver_sql("SELECT 1")
            with pytest.raises(TimeoutError):  # the request pool really is exhausted
                async with asyncio.timeout(0.3), database.writer.connect():
                    pass
            response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["database"] == "ok"
