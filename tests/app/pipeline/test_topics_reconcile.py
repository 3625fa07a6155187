"""`python -m app topics` reconciles: creates, raises partition counts (never lowers), fixes configs."""

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from app.core.settings import Settings
from app.pipeline import topics
from app.pipeline.topics import Existing, plan

RIGHT = {"retention.ms": "1000", "min.insync.replicas": "1"}


def _wanted(name: str = "orders", partitions: int = 3) -> NewTopic:
    return NewTopic(name, num_partitions=partitions, replication_factor=1, topic_configs=dict(RIGHT))


def test_plan_creates_a_missing_topic() -> None:
    assert [topic.name for topic in plan([_wanted()], {}).create] == ["orders"]


def test_plan_raises_a_partition_count_that_is_too_low() -> None:
    result = plan([_wanted(partitions=6)], {"orders": Existing(4, 1, RIGHT)})
    assert result.raise_partitions == {"orders": 6}
    assert not result.create


def test_plan_never_lowers_partitions_and_says_so() -> None:
    result = plan([_wanted(partitions=3)], {"orders": Existing(4, 1, RIGHT)})
    assert result.raise_partitions == {}
    assert any("cannot remove partitions" in warning for warning in result.warnings)


def test_plan_sets_only_the_configs_that_differ() -> None:
    result = plan([_wanted()], {"orders": Existing(3, 1, {"retention.ms": "5", "min.insync.replicas": "1"})})
    assert result.set_configs == {"orders": {"retention.ms": "1000"}}


def test_plan_reports_a_replication_factor_it_cannot_change() -> None:
    result = plan([_wanted()], {"orders": Existing(3, 2, RIGHT)})
    assert any("replication factor 2" in warning for warning in result.warnings)


def test_plan_for_a_matching_topic_changes_nothing() -> None:
    result = plan([_wanted()], {"orders": Existing(3, 1, RIGHT)})
    assert (result.create, result.raise_partitions, result.set_configs, result.warnings) == ([], {}, {}, [])


@pytest_asyncio.fixture
async def admin(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await client.start()
    yield client
    await client.close()


async def _state(admin: AIOKafkaAdminClient, name: str) -> tuple[int, dict[str, str]]:
    partitions = len((await admin.describe_topics([name]))[0]["partitions"])
    resource = ConfigResource(ConfigResourceType.TOPIC, name, configs={"retention.ms": None, "cleanup.policy": None})
    entries = (await admin.describe_configs([resource]))[0].resources[0][4]
    return partitions, {entry[0]: entry[1] for entry in entries}


async def _eventually(admin: AIOKafkaAdminClient, name: str, expected: tuple[int, dict[str, str]]) -> None:
    """Broker metadata trails the controller by a moment; poll, bounded."""
    state = None
    for _ in range(50):
        state = await _state(admin, name)
        if state == expected:
            return
        await asyncio.sleep(0.1)
    assert state == expected, f"topic {name}: {state}, expected {expected}"


@pytest.mark.asyncio
async def test_topics_job_raises_partitions_and_fixes_retention_keeping_other_overrides(
    settings: Settings, admin: AIOKafkaAdminClient
) -> None:
    name = settings.topic_orders
    await admin.create_topics(
        [NewTopic(name, 1, 1, topic_configs={"retention.ms": "1000", "cleanup.policy": "compact,delete"})]
    )
    report = await topics.reconcile(settings)
    assert report.partitions_raised == {name: settings.topic_partitions}
    assert report.configs_set[name] == {"retention.ms": str(settings.topic_retention_ms)}
    expected_configs = {"retention.ms": str(settings.topic_retention_ms), "cleanup.policy": "compact,delete"}
    await _eventually(admin, name, (settings.topic_partitions, expected_configs))


@pytest.mark.asyncio
async def test_topics_job_keeps_a_higher_partition_count_and_warns(
    settings: Settings, admin: AIOKafkaAdminClient
) -> None:
    name = settings.topic_payments
    await admin.create_topics([NewTopic(name, settings.topic_partitions + 2, 1)])
    report = await topics.reconcile(settings)
    assert name not in report.partitions_raised
    assert any(name in warning and "cannot remove partitions" in warning for warning in report.warnings)
    partitions, _ = await _state(admin, name)
    assert partitions == settings.topic_partitions + 2
