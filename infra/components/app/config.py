"""The app's environment (APP_*), built from the components' outputs. No passwords: every
data store is reached with IAM (RDS and ElastiCache auth tokens, MSK SASL/IAM)."""

from __future__ import annotations

from collections.abc import Sequence

from infra.components.app.args import AppArgs
from infra.components.app.processes import API_PORT, METRICS_PORT, TOPICS


def host_of(endpoint: str) -> str:
    """``db.x.rds.amazonaws.com:5432`` -> ``db.x.rds.amazonaws.com`` (RDS's ``endpoint`` carries the port)."""
    host, sep, port = endpoint.rpartition(":")
    return host if sep and port.isdigit() else endpoint


def postgres_url(user: str, endpoint: str, port: int, database: str) -> str:
    return f"postgresql+asyncpg://{user}@{host_of(endpoint)}:{port}/{database}"


def app_environment(
    args: AppArgs,
    *,
    region: str,
    db_user: str,
    db_name: str,
    db_port: int,
    writer: str,
    readers: Sequence[str],
    redis_user: str,
    redis_host: str,
    redis_port: int,
    redis_group_id: str,
    bootstrap_brokers: str,
    auth_issuer: str,
    auth_client_id: str,
) -> dict[str, str]:
    """The ConfigMap every process reads through ``envFrom``."""
    env = {
        "APP_AWS_REGION": region,
        "APP_DB_AUTH": "iam",
        "APP_DB_WRITER_URL": postgres_url(db_user, writer, db_port, db_name),
        "APP_DB_READER_URLS": ",".join(postgres_url(db_user, r, db_port, db_name) for r in readers),
        # ElastiCache IAM users have user id == user name; TLS (rediss) is required with IAM.
        "APP_REDIS_URL": f"rediss://{redis_user}@{host_of(redis_host)}:{redis_port}/0",
        "APP_REDIS_AUTH": "iam",
        "APP_REDIS_REPLICATION_GROUP_ID": redis_group_id,
        "APP_CACHE_TTL_SECONDS": str(args.cache_ttl_seconds),
        "APP_KAFKA_BOOTSTRAP_SERVERS": bootstrap_brokers,
        "APP_KAFKA_AUTH": "iam",
        "APP_PORT": str(API_PORT),
        "APP_METRICS_PORT": str(METRICS_PORT),
        "APP_PAYMENT_LATENCY_MS": str(args.payment_latency_ms),
        "APP_PAYMENT_FAILURE_RATE": str(args.payment_failure_rate),
        # The API trusts this pool's access tokens for this client only. APP_AUTH_LOCAL_DEV is
        # never set here: a deployed API accepts a Cognito issuer only (see local_dev_problems).
        "APP_AUTH_ISSUER": auth_issuer,
        "APP_AUTH_CLIENT_ID": auth_client_id,
    }
    env.update({f"APP_TOPIC_{t.upper()}": t for t in TOPICS})
    if problems := local_dev_problems(env):
        raise ValueError("; ".join(problems))
    return env


def local_dev_problems(env: dict[str, str]) -> list[str]:
    """The rule that keeps the API's local token mode out of every deployed stack."""
    value = env.get("APP_AUTH_LOCAL_DEV", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return []
    return [f"APP_AUTH_LOCAL_DEV={env['APP_AUTH_LOCAL_DEV']!r}: local token mode must never be deployed"]
