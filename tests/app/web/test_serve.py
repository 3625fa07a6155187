"""The API serves the built storefront locally (APP_SERVE_WEB) with the production headers."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from httpx import AsyncClient

from app.api.main import create_app
from app.core.settings import Settings
from app.web.site import CONTENT_SECURITY_POLICY, IMMUTABLE, SHORT, build
from tests.app.conftest import api_client

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def web(settings: Settings) -> AsyncIterator[AsyncClient]:
    async for client in api_client(create_app(settings.model_copy(update={"serve_web": True}))):
        yield client


async def test_root_serves_index_with_the_production_csp(web: AsyncClient) -> None:
    response = await web.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == SHORT
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_hashed_assets_are_served_immutable_with_their_type(web: AsyncClient) -> None:
    script = next(a for a in build() if a.path.endswith("/app.js"))
    response = await web.get(f"/{script.path}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.content == script.body


async def test_unknown_static_path_is_404(web: AsyncClient) -> None:
    assert (await web.get("/static/000000000000/nope.js")).status_code == 404


async def test_storefront_is_not_served_unless_enabled(client: AsyncClient) -> None:
    assert (await client.get("/")).status_code == 404
