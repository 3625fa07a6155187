"""Bearer authentication and per-customer authorization on /api/*."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from httpx import AsyncClient
from sqlalchemy import insert, select

from app.api import auth as auth_module
from app.api.main import create_app
from app.core.settings import Settings
from app.dev.issuer import LocalIssuer, _Key
from app.dev.localbroker import free_port
from app.store.db import Database
from app.store.tables import users
from tests.app.conftest import api_client
from tests.app.helpers import CUSTOMER, auth, local_issuer, order_body

pytestmark = pytest.mark.asyncio
OTHER = "cust-0002"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forged(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{_b64(signature)}"


async def _order_status(client: AsyncClient, token: str) -> tuple[int, dict[str, Any], str | None]:
    response = await client.post("/api/orders", json=order_body(), headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json(), response.headers.get("www-authenticate")


async def _assert_invalid_token(client: AsyncClient, token: str) -> None:
    status, body, challenge = await _order_status(client, token)
    assert status == 401, body
    assert body == {"detail": "the access token is invalid or expired", "error": "invalid_token"}
    assert challenge == 'Bearer realm="orders", error="invalid_token"'


@pytest_asyncio.fixture
async def anonymous(settings: Settings) -> AsyncIterator[AsyncClient]:
    async for c in api_client(create_app(settings), customer=None):
        yield c


async def test_request_without_token_is_401_with_a_bearer_challenge(anonymous: AsyncClient) -> None:
    response = await anonymous.post("/api/orders", json=order_body())
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="orders"'
    assert response.json()["error"] == "invalid_request"


async def test_non_bearer_scheme_is_treated_as_no_token(anonymous: AsyncClient) -> None:
    response = await anonymous.get("/api/users/cust-0001", headers={"Authorization": "Basic Y3VzdDpwdw=="})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="orders"'


async def test_every_customer_route_requires_a_token(anonymous: AsyncClient) -> None:
    for path in ("/api/users/cust-0001", "/api/orders/00000000-0000-0000-0000-000000000000"):
        assert (await anonymous.get(path)).status_code == 401, path


async def test_product_reads_need_no_token(anonymous: AsyncClient) -> None:
    assert (await anonymous.get("/api/products/SKU-0001")).status_code == 200


async def test_valid_token_is_accepted(anonymous: AsyncClient) -> None:
    status, body, _ = await _order_status(anonymous, local_issuer().mint(CUSTOMER))
    assert status == 202, body


async def test_expired_token_is_rejected(anonymous: AsyncClient) -> None:
    past = int(time.time()) - 3600
    await _assert_invalid_token(anonymous, local_issuer().mint(CUSTOMER, iat=past - 60, exp=past))


async def test_token_expired_within_the_leeway_is_accepted(anonymous: AsyncClient) -> None:
    just_now = int(time.time()) - 2
    status, body, _ = await _order_status(anonymous, local_issuer().mint(CUSTOMER, exp=just_now))
    assert status == 202, body


async def test_token_for_another_app_client_is_rejected(anonymous: AsyncClient) -> None:
    await _assert_invalid_token(anonymous, local_issuer().mint(CUSTOMER, client_id="someone-elses-client"))


async def test_token_from_another_issuer_is_rejected(anonymous: AsyncClient) -> None:
    other = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"
    await _assert_invalid_token(anonymous, local_issuer().mint(CUSTOMER, iss=other))


async def test_id_token_is_rejected(anonymous: AsyncClient) -> None:
    # An id token names the client in `aud` and has token_use "id": not for calling the API.
    claims = {"token_use": "id", "aud": local_issuer().client_id}
    await _assert_invalid_token(anonymous, local_issuer().mint(CUSTOMER, **claims))


async def test_token_without_client_id_is_rejected(anonymous: AsyncClient) -> None:
    claims = local_issuer().claims(CUSTOMER)
    del claims["client_id"]
    key = local_issuer().keys[-1]
    token = jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid})
    await _assert_invalid_token(anonymous, token)


async def test_alg_none_token_is_rejected(anonymous: AsyncClient) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": local_issuer().keys[-1].kid}
    await _assert_invalid_token(anonymous, _forged(header, local_issuer().claims(CUSTOMER), None))


async def test_hs256_token_signed_with_the_public_key_is_rejected(anonymous: AsyncClient) -> None:
    key = local_issuer().keys[-1]
    public_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    await _assert_invalid_token(anonymous, _forged(header, local_issuer().claims(CUSTOMER), public_pem))


async def test_token_signed_by_another_key_with_a_known_kid_is_rejected(anonymous: AsyncClient) -> None:
    impostor = _Key()
    kid = local_issuer().keys[-1].kid
    token = jwt.encode(local_issuer().claims(CUSTOMER), impostor.private, algorithm="RS256", headers={"kid": kid})
    await _assert_invalid_token(anonymous, token)


async def test_garbage_token_is_rejected(anonymous: AsyncClient) -> None:
    await _assert_invalid_token(anonymous, "not-a-jwt")


# Authorization: a customer sees only their own orders and user record.


async def test_customer_cannot_read_another_customers_order(settings: Settings) -> None:
    app = create_app(settings)
    async for owner in api_client(app, customer=OTHER):
        order_id = (await owner.post("/api/orders", json=order_body())).json()["id"]
        assert (await owner.get(f"/api/orders/{order_id}")).status_code == 200
        response = await owner.get(f"/api/orders/{order_id}", headers=auth(CUSTOMER))
        missing = await owner.get("/api/orders/00000000-0000-0000-0000-000000000000", headers=auth(CUSTOMER))
    assert response.status_code == 404
    assert response.json() == missing.json(), "someone else's order must look exactly like a missing one"


async def test_customer_cannot_read_another_customers_user_record(client: AsyncClient) -> None:
    response = await client.get(f"/api/users/{OTHER}")
    missing = await client.get("/api/users/nobody-at-all")
    assert response.status_code == 404
    assert response.json() == missing.json()


async def test_customer_reads_their_own_user_record(client: AsyncClient) -> None:
    response = await client.get(f"/api/users/{CUSTOMER}")
    assert response.status_code == 200
    assert response.json()["email"] == f"{CUSTOMER}@example.com"


async def test_first_sign_in_creates_the_customer(client: AsyncClient, database: Database) -> None:
    subject = "4b1f0c1e-2c44-4a8e-9d0e-5d3f1f0a9b21"
    response = await client.post("/api/orders", json=order_body(), headers=auth(subject, email="new@example.com"))
    assert response.status_code == 202, response.text
    async with database.read(primary=True) as conn:
        row = (await conn.execute(select(users).where(users.c.subject == subject))).one()
    assert (row.id, row.email) == (subject, "new@example.com")


async def test_subject_clashing_with_another_customers_id_is_not_linked(
    client: AsyncClient, database: Database
) -> None:
    async with database.write() as conn:
        await conn.execute(insert(users).values(id="unlinked-0001", email="u@example.com", name="U"))
    response = await client.get("/api/users/unlinked-0001", headers=auth("unlinked-0001"))
    assert response.status_code == 401


# Keys: cached, refetched for an unknown kid (a rotation), at most once per cooldown.


async def test_key_rotation_is_picked_up_without_a_restart(settings: Settings) -> None:
    with LocalIssuer() as issuer:
        own = settings.model_copy(
            update={
                "auth_issuer": issuer.issuer,
                "auth_client_id": issuer.client_id,
                "auth_jwks_refetch_cooldown_seconds": 0,
            }
        )
        async for client in api_client(create_app(own), customer=None):
            first = await client.get(f"/api/users/{CUSTOMER}", headers=issuer.headers(CUSTOMER))
            issuer.rotate(retire=True)
            after = await client.get(f"/api/users/{CUSTOMER}", headers=issuer.headers(CUSTOMER))
    assert (first.status_code, after.status_code) == (200, 200)
    assert issuer.jwks_fetches == 2


async def test_keys_are_cached_between_requests(settings: Settings) -> None:
    with LocalIssuer() as issuer:
        own = settings.model_copy(update={"auth_issuer": issuer.issuer, "auth_client_id": issuer.client_id})
        async for client in api_client(create_app(own), customer=None):
            for _ in range(3):
                assert (await client.get(f"/api/users/{CUSTOMER}", headers=issuer.headers(CUSTOMER))).status_code == 200
    assert issuer.jwks_fetches == 1


async def test_unknown_kids_refetch_at_most_once_per_cooldown(settings: Settings) -> None:
    with LocalIssuer() as issuer:
        own = settings.model_copy(
            update={
                "auth_issuer": issuer.issuer,
                "auth_client_id": issuer.client_id,
                "auth_jwks_refetch_cooldown_seconds": 60,
            }
        )
        async for client in api_client(create_app(own), customer=None):
            assert (await client.get(f"/api/users/{CUSTOMER}", headers=issuer.headers(CUSTOMER))).status_code == 200
            claims = issuer.claims(CUSTOMER)
            for _ in range(5):
                forged = jwt.encode(claims, _Key().private, algorithm="RS256", headers={"kid": "forged"})
                response = await client.get(f"/api/users/{CUSTOMER}", headers={"Authorization": f"Bearer {forged}"})
                assert response.status_code == 401
    assert issuer.jwks_fetches == 1, "forged kids inside the cooldown must not reach the JWKS endpoint"


async def test_unreachable_jwks_is_503_not_401(settings: Settings) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    own = settings.model_copy(update={"auth_issuer": dead, "auth_client_id": local_issuer().client_id})
    async for client in api_client(create_app(own), customer=None):
        token = local_issuer().mint(CUSTOMER, iss=dead)
        response = await client.get(f"/api/users/{CUSTOMER}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503


async def test_a_known_key_is_used_without_a_thread_hop_per_request(settings: Settings, monkeypatch: Any) -> None:
    hops: list[object] = []
    real = asyncio.to_thread

    async def counting(function: Any, *args: Any) -> Any:
        hops.append(function)
        return await real(function, *args)

    monkeypatch.setattr(auth_module.asyncio, "to_thread", counting)
    with LocalIssuer() as issuer:
        own = settings.model_copy(update={"auth_issuer": issuer.issuer, "auth_client_id": issuer.client_id})
        async for client in api_client(create_app(own), customer=None):
            for _ in range(5):
                assert (await client.get(f"/api/users/{CUSTOMER}", headers=issuer.headers(CUSTOMER))).status_code == 200
    assert len(hops) == 1, hops
