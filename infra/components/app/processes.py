"""The sample app's process types and what each one touches.

One image runs every process (``python -m app <process>``); this table is the single
place that says which process reads which topic, writes which, and needs which data
store. IAM policies, NetworkPolicies and KEDA triggers are all derived from it, so a
process gets exactly the access its code uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

API_PORT = 8000
"""The API's HTTP port (APP_PORT): traffic, probes and /metrics."""
METRICS_PORT = 9100
"""Every other long-running process serves /livez, /readyz and /metrics here (APP_METRICS_PORT)."""

TOPICS = ("orders", "payments", "inventory", "shipments")
"""The app's event topics (APP_TOPIC_*); each has a ``<topic>.dlq`` dead-letter topic."""


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class Process:
    name: str
    kind: Literal["api", "relay", "worker", "job"]
    uses_database: bool = True
    uses_cache: bool = False
    consumes: tuple[str, ...] = ()
    """Topics read as consumer group ``name``."""
    produces: tuple[str, ...] = ()
    """Topics written (a worker writes only the dead-letter topic of what it consumes;
    its own events go through the outbox and the relay)."""
    creates_topics: bool = False
    creates_database_login: bool = False
    """Logs in as the master user (its secret, not an IAM token) to create the app's login."""

    @property
    def port(self) -> int | None:
        if self.kind == "job":
            return None
        return API_PORT if self.kind == "api" else METRICS_PORT

    @property
    def uses_kafka(self) -> bool:
        return bool(self.consumes or self.produces or self.creates_topics)

    @property
    def consumer_group(self) -> str | None:
        return self.name if self.consumes else None


def _worker(name: str, topic: str) -> Process:
    return Process(name, "worker", uses_cache=True, consumes=(topic,), produces=(dlq(topic),))


PROCESSES: tuple[Process, ...] = (
    Process("api", "api", uses_cache=True),
    Process("relay", "relay", produces=TOPICS),
    _worker("payment", "orders"),
    _worker("inventory", "payments"),
    _worker("notification", "payments"),
    _worker("fulfillment", "inventory"),
    Process("bootstrap-db", "job", creates_database_login=True),
    Process("migrate", "job"),
    Process("topics", "job", uses_database=False, creates_topics=True),
)

BY_NAME = {p.name: p for p in PROCESSES}
DEPLOYMENTS = tuple(p for p in PROCESSES if p.kind != "job")
JOBS = tuple(p for p in PROCESSES if p.kind == "job")
