"""The one launcher behind `pipeline(env)`, the chaos stack and the bench: the settings a caller
passes reach every setup step and every process it starts (a shard list, say, must reach the
migration and every worker alike)."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from app.dev.launcher import Database
from app.dev.run import SERVICES, pipeline
from tests.app.conftest import REDIS_URL

MARKER = ("APP_LAUNCHER_TEST_MARKER", "passed-through")
"""No setting of the app's: every process ignores it, so it shows only whether it arrived."""
PARTITIONS = 2
"""Not the pipeline's default (3): topics with 2 partitions show the topics step had the caller's settings."""


def _environ(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().partition("=")[::2] for entry in entries if entry)


async def _partitions(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return len(described["partitions"])
    finally:
        await admin.close()


@pytest.fixture(scope="module")
def started() -> Iterator[tuple[dict[str, dict[str, str]], int]]:
    """Each process's environment as the kernel holds it, and the orders topic's partition count."""
    settings = {"APP_REDIS_URL": REDIS_URL, "APP_TOPIC_PARTITIONS": str(PARTITIONS), MARKER[0]: MARKER[1]}
    with pipeline(settings) as running:
        environs = {name: _environ(process.pid) for name, process in running.processes.items()}
        relay = environs["relay"]
        partitions = asyncio.run(
            _partitions(relay["APP_KAFKA_BOOTSTRAP_SERVERS"], relay.get("APP_TOPIC_ORDERS", "orders"))
        )
    yield environs, partitions


def test_every_process_of_the_pipeline_gets_the_callers_settings(
    started: tuple[dict[str, dict[str, str]], int],
) -> None:
    environs, _ = started
    assert sorted(environs) == sorted(["api", *SERVICES])
    missing = [name for name, environ in environs.items() if environ.get(MARKER[0]) != MARKER[1]]
    assert not missing, f"{MARKER[0]} did not reach {missing}"


def test_the_setup_steps_get_the_callers_settings(started: tuple[dict[str, dict[str, str]], int]) -> None:
    _, partitions = started
    assert partitions == PARTITIONS, f"the topics step made {partitions} partitions, not the {PARTITIONS} passed"


@pytest.mark.parametrize(
    ("admin_dsn", "url"),
    [
        ("postgresql://postgres@127.0.0.1:5432/postgres", "postgresql+asyncpg://postgres@127.0.0.1:5432/orders"),
        ("postgresql://app@10.0.0.5:6543/postgres", "postgresql+asyncpg://app@10.0.0.5:6543/orders"),
    ],
)
def test_a_named_database_is_on_the_admin_dsns_server(admin_dsn: str, url: str) -> None:
    database = Database.named("orders", admin_dsn)
    assert (database.url, database.dsn, database.name) == (url, url.replace("+asyncpg", ""), "orders")
    assert database.admin_dsn == admin_dsn
