"""The Kafka topics the ``topics`` Job creates, and the KEDA ceilings they impose.

The data tier describes the topics (``KafkaCluster.topics``); this module turns them
into the Job's environment and checks that no worker may scale past the partitions
of what it consumes (a partition feeds one member of a group; extra members idle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from infra.components.app.processes import TOPICS, Process, dlq


class TopicLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def partitions(self) -> int: ...
    @property
    def replication_factor(self) -> int: ...
    @property
    def retention_ms(self) -> int: ...


def partitions_by_topic(topics: Sequence[TopicLike]) -> dict[str, int]:
    return {t.name: t.partitions for t in topics}


def check_topics_present(topics: Sequence[TopicLike]) -> None:
    names = {t.name for t in topics}
    missing = [n for t in TOPICS for n in (t, dlq(t)) if n not in names]
    if missing:
        raise ValueError(f"the Kafka cluster describes no topic {', '.join(missing)}; the app needs them")


def replica_ceiling_problems(
    max_replicas: Mapping[str, int], consumers: Sequence[Process], partitions: Mapping[str, int]
) -> list[str]:
    """One message per worker whose maxReplicas exceeds a consumed topic's partitions."""
    problems = []
    for p in consumers:
        for topic in p.consumes:
            if max_replicas[p.name] > partitions[topic]:
                problems.append(
                    f"webscale:app.workers.{p.name}.maxReplicas ({max_replicas[p.name]}) exceeds the "
                    f"{partitions[topic]} partitions of topic {topic!r}: members beyond that get no partition"
                )
    return problems


def topic_job_env(topics: Sequence[TopicLike]) -> dict[str, str]:
    """APP_* settings of ``python -m app topics`` (it creates every topic and its ``.dlq``).

    The app takes one partition count and replication factor for all its topics, so the
    data tier's main topics must agree on them; the dead-letter retention is separate.
    """
    check_topics_present(topics)
    by_name = {t.name: t for t in topics}
    main = [by_name[t] for t in TOPICS]
    dead = [by_name[dlq(t)] for t in TOPICS]
    for attr in ("partitions", "replication_factor", "retention_ms"):
        if len({getattr(t, attr) for t in main}) != 1:
            raise ValueError(f"the app's topics must share one {attr}; the Kafka cluster describes several")
    for attr in ("partitions", "retention_ms"):
        if len({getattr(t, attr) for t in dead}) != 1:
            raise ValueError(f"the dead-letter topics must share one {attr}; the Kafka cluster describes several")
    rf = main[0].replication_factor
    return {
        "APP_TOPIC_PARTITIONS": str(main[0].partitions),
        "APP_TOPIC_REPLICATION_FACTOR": str(rf),
        # One broker may be down (patching) and producers with acks=all still write.
        "APP_TOPIC_MIN_INSYNC_REPLICAS": str(max(1, min(2, rf - 1))),
        "APP_TOPIC_RETENTION_MS": str(main[0].retention_ms),
        "APP_DLQ_RETENTION_MS": str(dead[0].retention_ms),
        "APP_DLQ_PARTITIONS": str(dead[0].partitions),
    }
