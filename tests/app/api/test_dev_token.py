"""The storefront's local sign-in: a dev-only route that has the local issuer mint a token."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from httpx import AsyncClient

from app.api.main import create_app
from app.core.settings import Settings
from tests.app.conftest import api_client

pytestmark = pytest.mark.asyncio
COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example1"


@pytest_asyncio.fixture
async def anonymous(settings: Settings) -> AsyncIterator[AsyncClient]:
    async for c in api_client(create_app(settings), customer=None):
        yield c


async def test_dev_token_signs_the_browser_in_as_the_chosen_customer(anonymous: AsyncClient):
    answer = await anonymous.post("/api/dev/token", json={"customer_id": "cust-0007"})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    me = await anonymous.get("/api/users/cust-0007", headers=bearer)
    assert me.status_code == 200 and me.json()["id"] == "cust-0007"
    other = await anonymous.get("/api/users/cust-0008", headers=bearer)
    assert other.status_code == 404, "the token must sign in as the chosen customer only"


async def test_dev_token_for_an_unknown_customer_is_404(anonymous: AsyncClient):
    answer = await anonymous.post("/api/dev/token", json={"customer_id": "nobody"})
    assert answer.status_code == 404
    assert answer.json()["detail"] == "user not found"


async def test_dev_token_refuses_a_malformed_customer_id(anonymous: AsyncClient):
    answer = await anonymous.post("/api/dev/token", json={"customer_id": "a b"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "customer_id"]


async def test_dev_token_route_is_absent_unless_local_dev_auth_is_on(settings: Settings):
    deployed = Settings(**settings.model_dump() | {"auth_issuer": COGNITO, "auth_local_dev": False})
    async for client in api_client(create_app(deployed), customer=None):
        answer = await client.post("/api/dev/token", json={"customer_id": "cust-0007"})
        assert answer.status_code == 404
    assert not any(getattr(r, "path", "").startswith("/api/dev") for r in create_app(deployed).routes)


async def test_dev_token_is_not_in_the_public_contract(anonymous: AsyncClient):
    paths = (await anonymous.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith("/api/dev")]
