"""The verifier against Cognito's own token shapes: moto's cognito-idp issues real RS256 access
and id tokens and serves the pool's JWKS. moto intercepts `requests`, not the urllib PyJWKClient
uses, so only the key-set fetch is swapped; every check is the production code's."""

import asyncio
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from app.api.auth import TokenVerifier, Unauthorized
from app.core.settings import Settings

REGION = "eu-west-1"
PASSWORD = "Str0ng-Passw0rd!"


@pytest.fixture
def cognito(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "offline-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "offline-test")
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool = idp.create_user_pool(PoolName="users")["UserPool"]["Id"]
        client = idp.create_user_pool_client(
            UserPoolId=pool,
            ClientName="web",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(UserPoolId=pool, Username="a@example.com", MessageAction="SUPPRESS")
        idp.admin_set_user_password(UserPoolId=pool, Username="a@example.com", Password=PASSWORD, Permanent=True)
        tokens = idp.initiate_auth(
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "a@example.com", "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        yield {"pool": pool, "client": client, "tokens": tokens}


def _verifier(pool: str, client: str) -> TokenVerifier:
    settings = Settings(
        db_writer_url="postgresql+asyncpg://x@127.0.0.1/db",
        auth_issuer=f"https://cognito-idp.{REGION}.amazonaws.com/{pool}",
        auth_client_id=client,
    )
    verifier = TokenVerifier(settings)
    verifier.keys.fetch_data = lambda: requests.get(settings.jwks_url, timeout=5).json()  # type: ignore[method-assign]
    return verifier


def test_a_cognito_access_token_is_accepted(cognito: dict[str, Any]) -> None:
    claims = asyncio.run(_verifier(cognito["pool"], cognito["client"]).verify(cognito["tokens"]["AccessToken"]))
    assert claims["token_use"] == "access" and claims["client_id"] == cognito["client"]


def test_a_cognito_id_token_is_rejected(cognito: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized):
        asyncio.run(_verifier(cognito["pool"], cognito["client"]).verify(cognito["tokens"]["IdToken"]))


def test_a_token_of_another_app_client_of_the_pool_is_rejected(cognito: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized):
        asyncio.run(_verifier(cognito["pool"], "another-client").verify(cognito["tokens"]["AccessToken"]))
