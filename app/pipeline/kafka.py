"""aiokafka client settings for plaintext (local) and MSK IAM (SASL/OAUTHBEARER over TLS)."""

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.helpers import create_ssl_context

from app.core.aws_auth import MSKTokenProvider
from app.core.settings import Settings


def client_kwargs(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers.split(",")}
    if settings.kafka_auth == "iam":
        kwargs |= {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "OAUTHBEARER",
            "sasl_oauth_token_provider": MSKTokenProvider(settings.aws_region or ""),
            "ssl_context": create_ssl_context(cafile=settings.kafka_ssl_cafile),
        }
    elif settings.kafka_auth == "tls":
        kwargs |= {"security_protocol": "SSL", "ssl_context": create_ssl_context(cafile=settings.kafka_ssl_cafile)}
    return kwargs


def make_producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=5,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        **client_kwargs(settings),
    )


def make_consumer(settings: Settings, worker: str, topics: list[str]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        group_id=settings.group_id(worker),
        # Offsets are committed by hand, only after the worker's database transaction commits.
        enable_auto_commit=False,
        # Never reposition silently: app/pipeline/offsets.py logs, counts and applies the policy.
        auto_offset_reset="none",
        metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        # No short request timeout here: JoinGroup legitimately blocks for the rebalance delay.
        **client_kwargs(settings),
    )


def dlq(topic: str) -> str:
    return f"{topic}.dlq"
