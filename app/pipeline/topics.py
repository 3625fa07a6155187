"""`python -m app topics`: reconcile the event topics and their dead-letter topics with the settings.

Missing topics are created. A partition count below the setting is raised; one above it is
left alone and logged, because Kafka cannot remove partitions (and fewer partitions would move
keys between them, breaking per-order ordering). `retention.ms` and `min.insync.replicas` are
set where they differ, key by key (IncrementalAlterConfigs), so other overrides survive. A
replication factor that differs is logged: changing it needs a partition reassignment, an
operator's decision. Running it again changes nothing.
"""

import asyncio
import logging
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidPartitionsError, TopicAlreadyExistsError

from app.core.settings import Settings
from app.pipeline.alter_configs import set_topic_configs
from app.pipeline.kafka import client_kwargs, dlq

log = logging.getLogger(__name__)
MANAGED_CONFIGS = ("retention.ms", "min.insync.replicas")
# Broker metadata trails the controller by a moment after a topic is created elsewhere.
METADATA_ATTEMPTS = 20
METADATA_WAIT_SECONDS = 0.25


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


@dataclass(frozen=True)
class Existing:
    """What the cluster has for one topic."""

    partitions: int
    replication_factor: int
    configs: dict[str, str]


@dataclass
class Plan:
    """What reconciling changes, and what it cannot change (logged as warnings)."""

    create: list[NewTopic] = field(default_factory=list)
    raise_partitions: dict[str, int] = field(default_factory=dict)
    set_configs: dict[str, dict[str, str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def plan(desired: list[NewTopic], existing: dict[str, Existing]) -> Plan:
    """A pure decision, so every case is tested without a broker."""
    result = Plan()
    for topic in desired:
        found = existing.get(topic.name)
        if found is None:
            result.create.append(topic)
            continue
        if found.partitions < topic.num_partitions:
            result.raise_partitions[topic.name] = topic.num_partitions
        elif found.partitions > topic.num_partitions:
            result.warnings.append(
                f"topic {topic.name} has {found.partitions} partitions, more than the configured "
                f"{topic.num_partitions}; Kafka cannot remove partitions, so it keeps {found.partitions}"
            )
        if found.replication_factor != topic.replication_factor:
            result.warnings.append(
                f"topic {topic.name} has replication factor {found.replication_factor}, not the configured "
                f"{topic.replication_factor}; changing it needs a partition reassignment, left as is"
            )
        changed = {key: value for key, value in topic.topic_configs.items() if found.configs.get(key) != value}
        if changed:
            result.set_configs[topic.name] = changed
    return result


@dataclass(frozen=True)
class Report:
    created: list[str]
    partitions_raised: dict[str, int]
    configs_set: dict[str, dict[str, str]]
    warnings: list[str]


async def _existing(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, Existing]:
    present = set(await admin.list_topics())
    names = [name for name in names if name in present]
    if not names:
        return {}
    described = {topic["topic"]: topic for topic in await admin.describe_topics(names)}
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, name, configs=dict.fromkeys(MANAGED_CONFIGS)) for name in names
    ]
    configs: dict[str, dict[str, str]] = {name: {} for name in names}
    for response in await admin.describe_configs(resources):
        for _code, _message, _type, name, entries, *_ in response.resources:
            configs[name] = {entry[0]: entry[1] for entry in entries}
    result = {}
    for name in names:
        partitions = described[name]["partitions"]
        replicas = max((len(partition["replicas"]) for partition in partitions), default=0)
        result[name] = Existing(partitions=len(partitions), replication_factor=replicas, configs=configs[name])
    return result


async def _existing_when_visible(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, Existing]:
    found: dict[str, Existing] = {}
    for _ in range(METADATA_ATTEMPTS):
        found = await _existing(admin, names)
        if len(found) == len(names):
            break
        await asyncio.sleep(METADATA_WAIT_SECONDS)
    return found


async def _raise_partitions(admin: AIOKafkaAdminClient, name: str, count: int) -> None:
    try:
        await admin.create_partitions({name: NewPartitions(total_count=count)})
    except InvalidPartitionsError:
        # The metadata read a moment ago can lag the controller: another run (or this one,
        # retried) may have raised the count already. Only a count still too low is an error.
        described = await admin.describe_topics([name])
        if len(described[0]["partitions"]) < count:
            raise


async def reconcile(settings: Settings) -> Report:
    admin = AIOKafkaAdminClient(request_timeout_ms=settings.kafka_request_timeout_ms, **client_kwargs(settings))
    await admin.start()
    try:
        desired = wanted(settings)
        todo = plan(desired, await _existing(admin, [topic.name for topic in desired]))
        created: list[str] = []
        existed: list[str] = []
        if todo.create:
            response = await admin.create_topics(todo.create)
            for name, code, *_ in response.topic_errors:
                if code == 0:
                    created.append(name)
                elif code == TopicAlreadyExistsError.errno:
                    existed.append(name)
                else:
                    raise RuntimeError(f"creating topic {name} failed with error code {code}")
        if existed:
            # Already there: another replica of this job won the race, or the metadata read a
            # moment ago had not caught up with a creation. Reconcile those like any other.
            again = await _existing_when_visible(admin, existed)
            extra = plan([topic for topic in desired if topic.name in again], again)
            todo.raise_partitions |= extra.raise_partitions
            todo.set_configs |= extra.set_configs
            todo.warnings += extra.warnings
        for name, count in todo.raise_partitions.items():
            await _raise_partitions(admin, name, count)
        await set_topic_configs(admin, todo.set_configs)
        for warning in todo.warnings:
            log.warning(warning)
        log.info(
            "topics reconciled; created %s, partitions raised %s, configs set %s",
            created,
            todo.raise_partitions,
            todo.set_configs,
        )
        return Report(created, todo.raise_partitions, todo.set_configs, todo.warnings)
    finally:
        await admin.close()


async def ensure(settings: Settings) -> list[str]:
    """Reconcile; returns the names of the topics it created."""
    return (await reconcile(settings)).created


def main(settings: Settings) -> None:
    asyncio.run(reconcile(settings))
