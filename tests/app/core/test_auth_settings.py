"""The API's token settings: Cognito issuers only, unless local development is asked for."""

import pytest
from pydantic import ValidationError

from app.api.main import create_app
from app.core.settings import Settings

WRITER = "postgresql+asyncpg://app@127.0.0.1:5432/orders"
POOL = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz"


def test_cognito_issuer_is_accepted_with_its_default_jwks_url() -> None:
    settings = Settings(db_writer_url=WRITER, auth_issuer=POOL, auth_client_id="client")
    assert settings.jwks_url == f"{POOL}/.well-known/jwks.json"


def test_local_issuer_is_refused_without_the_dev_flag() -> None:
    with pytest.raises(ValidationError, match="APP_AUTH_LOCAL_DEV"):
        Settings(db_writer_url=WRITER, auth_issuer="http://127.0.0.1:8080", auth_client_id="client")


def test_local_issuer_is_accepted_with_the_dev_flag() -> None:
    settings = Settings(
        db_writer_url=WRITER, auth_issuer="http://127.0.0.1:8080", auth_client_id="client", auth_local_dev=True
    )
    assert settings.jwks_url == "http://127.0.0.1:8080/.well-known/jwks.json"


def test_dev_flag_does_not_admit_a_non_loopback_issuer() -> None:
    with pytest.raises(ValidationError, match="APP_AUTH_ISSUER"):
        Settings(db_writer_url=WRITER, auth_issuer="http://evil.example", auth_client_id="c", auth_local_dev=True)


def test_plain_http_lookalike_of_cognito_is_refused() -> None:
    with pytest.raises(ValidationError, match="APP_AUTH_ISSUER"):
        Settings(db_writer_url=WRITER, auth_issuer=POOL.replace("https", "http"), auth_client_id="c")


def test_jwks_url_outside_the_issuer_is_refused() -> None:
    with pytest.raises(ValidationError, match="APP_AUTH_JWKS_URL"):
        Settings(db_writer_url=WRITER, auth_issuer=POOL, auth_client_id="c", auth_jwks_url="https://evil.example/jwks")


def test_api_refuses_to_start_without_an_issuer() -> None:
    with pytest.raises(ValueError, match="APP_AUTH_ISSUER"):
        create_app(Settings(db_writer_url=WRITER))
