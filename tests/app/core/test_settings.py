"""Settings parsing and the IAM token providers, checked offline with fake AWS credentials."""

import base64
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.engine import make_url

from app.core.aws_auth import ElastiCacheIAMProvider, MSKTokenProvider
from app.core.settings import Settings
from app.dev.localbroker import free_port
from app.pipeline.kafka import client_kwargs
from app.store.cache import make_redis
from app.store.db import connect_args, make_engine

WRITER = "postgresql+asyncpg://app@orders.cluster-x.eu-west-1.rds.amazonaws.com:5432/orders"


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Signing is local; fake keys (and no config files) keep it off any real account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "offline-test-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "offline-test-secret-key")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


def _iam(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db_writer_url": WRITER,
        "db_auth": "iam",
        "redis_url": "rediss://app-user@master.orders.cache.amazonaws.com:6379/0",
        "redis_auth": "iam",
        "redis_replication_group_id": "orders-cache",
        "kafka_bootstrap_servers": "b-1.msk:9098,b-2.msk:9098",
        "kafka_auth": "iam",
        "aws_region": "eu-west-1",
    }
    return Settings(**(values | overrides))


def test_settings_read_the_env_var_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_DB_WRITER_URL", WRITER)
    monkeypatch.setenv("APP_DB_READER_URLS", "postgresql+asyncpg://a/x, postgresql+asyncpg://b/x")
    monkeypatch.setenv("APP_CACHE_TTL_SECONDS", "30")
    monkeypatch.setenv("APP_TOPIC_ORDERS", "orders-v2")
    settings = Settings()  # type: ignore[call-arg]
    assert settings.db_reader_urls == ["postgresql+asyncpg://a/x", "postgresql+asyncpg://b/x"]
    assert (settings.cache_ttl_seconds, settings.topic_orders) == (30, "orders-v2")


def test_writer_url_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_DB_WRITER_URL", raising=False)
    with pytest.raises(ValidationError, match="db_writer_url"):
        Settings()  # type: ignore[call-arg]


def test_iam_mode_requires_a_region() -> None:
    with pytest.raises(ValidationError, match="APP_AWS_REGION"):
        _iam(aws_region=None)


def test_redis_iam_mode_requires_the_replication_group_id() -> None:
    with pytest.raises(ValidationError, match="APP_REDIS_REPLICATION_GROUP_ID"):
        _iam(redis_replication_group_id=None)


def test_consumer_group_is_the_process_name_with_the_prefix() -> None:
    assert _iam(consumer_group_prefix="blue-").group_id("payment") == "blue-payment"


def test_production_default_keeps_the_idempotent_producer_on() -> None:
    assert _iam().kafka_idempotence is True


def test_db_iam_mode_sets_an_rds_token_as_the_password_of_each_connection() -> None:
    engine = make_engine(WRITER, _iam())
    params: dict[str, Any] = {}
    engine.sync_engine.dialect.dispatch.do_connect(engine.sync_engine.dialect, None, [], params)
    token = urlparse("https://" + params["password"])
    query = parse_qs(token.query)
    assert token.netloc == f"{make_url(WRITER).host}:5432"
    assert query["Action"] == ["connect"] and query["DBUser"] == ["app"]
    assert "X-Amz-Signature" in query


def test_db_iam_mode_requires_tls() -> None:
    assert connect_args(_iam(db_ssl="prefer"))["ssl"] == "require"


def test_db_password_mode_adds_no_token() -> None:
    engine = make_engine(WRITER, _iam(db_auth="password", redis_auth="none", kafka_auth="plaintext"))
    params: dict[str, Any] = {}
    engine.sync_engine.dialect.dispatch.do_connect(engine.sync_engine.dialect, None, [], params)
    assert "password" not in params


def test_redis_iam_mode_signs_a_connect_token_for_the_url_user() -> None:
    provider = make_redis(_iam()).connection_pool.connection_kwargs["credential_provider"]
    assert isinstance(provider, ElastiCacheIAMProvider)
    user, token = provider.get_credentials()
    parsed = urlparse("https://" + token)
    query = parse_qs(parsed.query)
    assert user == "app-user"
    assert parsed.netloc == "orders-cache"
    assert query["Action"] == ["connect"] and query["User"] == ["app-user"]
    assert query["X-Amz-Expires"] == ["900"]
    assert "/elasticache/aws4_request" in query["X-Amz-Credential"][0]


def test_redis_iam_token_is_reused_until_close_to_expiry() -> None:
    provider = ElastiCacheIAMProvider(user="u", replication_group_id="g", region="eu-west-1")
    assert provider.get_credentials() == provider.get_credentials()


def test_redis_password_mode_has_no_credential_provider() -> None:
    settings = _iam(redis_auth="password", redis_url="rediss://app:secret@host:6379/0")
    kwargs = make_redis(settings).connection_pool.connection_kwargs
    assert "credential_provider" not in kwargs
    assert kwargs["password"] == "secret"


def test_kafka_iam_mode_uses_sasl_oauthbearer_over_tls() -> None:
    kwargs = client_kwargs(_iam())
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "OAUTHBEARER"
    assert isinstance(kwargs["sasl_oauth_token_provider"], MSKTokenProvider)
    assert kwargs["bootstrap_servers"] == ["b-1.msk:9098", "b-2.msk:9098"]


@pytest.mark.asyncio
async def test_msk_token_is_a_presigned_kafka_cluster_connect_url() -> None:
    token = await MSKTokenProvider("eu-west-1").token()
    url = urlparse(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    query = parse_qs(url.query)
    assert url.netloc == "kafka.eu-west-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert "X-Amz-Signature" in query


def test_kafka_plaintext_mode_has_no_sasl() -> None:
    kwargs = client_kwargs(_iam(kafka_auth="plaintext"))
    assert "sasl_mechanism" not in kwargs


def test_redis_iam_mode_keeps_the_user_only_in_the_credential_provider() -> None:
    kwargs = make_redis(_iam()).connection_pool.connection_kwargs
    assert isinstance(kwargs["credential_provider"], ElastiCacheIAMProvider)
    assert kwargs["credential_provider"].user == "app-user"
    assert not kwargs.get("username") and not kwargs.get("password")


@pytest.mark.asyncio
async def test_redis_iam_mode_gets_as_far_as_connecting() -> None:
    """redis-py rejects a URL user next to a credential provider (DataError) before connecting;
    against a closed port the only error left must be the connection error."""
    settings = _iam(redis_url=f"rediss://app-user@127.0.0.1:{free_port()}/0")
    client = make_redis(settings)
    try:
        with pytest.raises(RedisConnectionError):
            await client.connection_pool.get_connection()
    finally:
        await client.aclose()
