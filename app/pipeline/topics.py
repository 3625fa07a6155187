"""`python -m app topics`: create the event topics and their dead-letter topics, idempotently."""

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from app.core.settings import Settings
from app.pipeline.kafka import client_kwargs, dlq

log = logging.getLogger(__name__)


def wanted(settings: Settings) -> list[NewTopic]:
    def topic(name: str, partitions: int, retention_ms: int) -> NewTopic:
        return NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=settings.topic_replication_factor,
            topic_configs={
                "retention.ms": str(retention_ms),
                "min.insync.replicas": str(settings.topic_min_insync_replicas),
            },
        )

    return [topic(name, settings.topic_partitions, settings.topic_retention_ms) for name in settings.all_topics] + [
        topic(dlq(name), settings.dlq_partitions, settings.dlq_retention_ms) for name in settings.all_topics
    ]


async def ensure(settings: Settings) -> list[str]:
    """Create the missing topics; returns their names. Existing topics are left untouched."""
    admin = AIOKafkaAdminClient(request_timeout_ms=settings.kafka_request_timeout_ms, **client_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted(settings) if t.name not in existing]
        created: list[str] = []
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *_ in response.topic_errors:
                # Already there: another replica of this job won the race, or the broker's
                # metadata had not caught up with a creation yet. Either way it exists.
                if code == 0:
                    created.append(name)
                elif code != TopicAlreadyExistsError.errno:
                    raise RuntimeError(f"creating topic {name} failed with error code {code}")
        log.info("topics ready; created %s", created)
        return created
    finally:
        await admin.close()


def main(settings: Settings) -> None:
    asyncio.run(ensure(settings))
