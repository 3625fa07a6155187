"""The one-off jobs: `topics` and `migrate` can run again without harm."""

import pytest
from aiokafka import AIOKafkaProducer

from app.core.settings import Settings
from app.pipeline import topics
from app.store.migrate import upgrade


@pytest.mark.asyncio
async def test_topics_job_creates_every_topic_and_its_dead_letter_topic(
    settings: Settings, kafka_topics: list[str]
) -> None:
    expected = {*settings.all_topics, *(f"{name}.dlq" for name in settings.all_topics)}
    assert set(kafka_topics) == expected


@pytest.mark.asyncio
async def test_topics_job_uses_the_configured_partition_count(settings: Settings, producer: AIOKafkaProducer) -> None:
    partitions = await producer.partitions_for(settings.topic_orders)
    assert len(partitions) == settings.topic_partitions


@pytest.mark.asyncio
async def test_topics_job_gives_dead_letter_topics_their_own_partition_count(
    settings: Settings, producer: AIOKafkaProducer
) -> None:
    assert settings.dlq_partitions != settings.topic_partitions  # or this test proves nothing
    partitions = await producer.partitions_for(f"{settings.topic_orders}.dlq")
    assert len(partitions) == settings.dlq_partitions


@pytest.mark.asyncio
async def test_topics_job_run_twice_creates_nothing_the_second_time(
    settings: Settings, kafka_topics: list[str]
) -> None:
    assert await topics.ensure(settings) == []


def test_migrate_run_twice_is_a_no_op(settings: Settings) -> None:
    upgrade(settings)
