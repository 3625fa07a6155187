"""The shard map at start: settings, the registry's routing, unreachable shards, per-shard migrations."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from pydantic import ValidationError
from sqlalchemy import text

from app.core.settings import Settings
from app.dev.localbroker import free_port
from app.pipeline.events import Envelope, OrderFulfilled
from app.store.migrate import MigrationFailed, upgrade_all
from app.store.overlay import OverlayStale
from app.store.routing import MissingCustomer, Shards, ShardUnreachable
from app.store.shards import Shard
from tests.app.conftest import PG_ADMIN_DSN, PG_HOST
from tests.app.sharding import local_databases, shard_map_json

REPO = Path(__file__).resolve().parents[3]
A = "postgresql+asyncpg://app@shard-a.internal:5432/orders"
B = "postgresql+asyncpg://app@shard-b.internal:5432/orders"
SECRET = "postgresql+asyncpg://app:s3cret@shard-b.internal:5432/orders"


def _settings(**values: object) -> Settings:
    return Settings.model_validate({"db_ssl": "disable"} | values)


def test_without_a_shard_map_the_one_database_is_the_one_shard() -> None:
    settings = _settings(db_writer_url=A, db_reader_urls=B)
    assert settings.shard_list() == [Shard("s0", A, (B,))]
    shards = Shards(settings)
    assert shards.names == ["s0"]
    assert shards.for_customer("anyone") is shards.home
    assert shards.home.writer_url == A


def test_shard_map_gives_the_home_shard_as_writer_when_the_writer_url_is_unset() -> None:
    settings = _settings(
        db_shards=json.dumps([{"name": "s0", "writer_url": A, "reader_urls": [B]}, {"name": "s1", "writer_url": B}])
    )
    assert settings.db_writer_url == A
    assert settings.db_reader_urls == [B]


def test_writer_url_that_is_not_the_home_shards_is_refused() -> None:
    with pytest.raises(ValidationError, match="APP_DB_WRITER_URL is not the writer of the home shard 's0'"):
        _settings(db_writer_url=B, db_shards=shard_map_json([A, B]))


def test_duplicate_shard_names_are_refused_naming_the_name() -> None:
    duplicated = json.dumps([{"name": "s1", "writer_url": A}, {"name": "s1", "writer_url": B}])
    with pytest.raises(ValidationError, match="shard name 's1' appears 2 times"):
        _settings(db_shards=duplicated)


def test_an_empty_shard_map_is_refused() -> None:
    with pytest.raises(ValidationError, match="APP_DB_SHARDS: the shard list is empty"):
        _settings(db_shards="[]")


def test_a_process_started_with_a_bad_shard_map_exits_naming_the_problem() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")} | {
        "APP_DB_SHARDS": json.dumps([{"name": "s0", "writer_url": A}, {"name": "s0", "writer_url": SECRET}])
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", "relay"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "shard name 's0' appears 2 times" in result.stderr
    assert "s3cret" not in result.stderr


def test_the_same_customer_routes_to_the_same_shard_in_every_registry() -> None:
    config = shard_map_json([A, B, A.replace("shard-a", "shard-c")])
    first, second = Shards(_settings(db_shards=config), moves=False), Shards(_settings(db_shards=config), moves=False)
    customers = [f"cust-{n:05d}" for n in range(5000)]
    placed = [first.shard_name_for(customer) for customer in customers]
    assert placed == [second.shard_name_for(customer) for customer in customers]
    assert placed == [first.shard_name_for(customer) for customer in customers]
    assert set(placed) == {"s0", "s1", "s2"}
    assert all(first.for_customer(c).name == name for c, name in zip(customers, placed, strict=True))


def _event(customer: str | None) -> Envelope:
    return Envelope(order_id=uuid.uuid4(), customer_id=customer, event=OrderFulfilled(shipment_id=uuid.uuid4()))


def test_an_event_routes_to_its_customers_shard() -> None:
    shards = Shards(_settings(db_shards=shard_map_json([A, B])), moves=False)
    for customer in (f"c-{n}" for n in range(50)):
        assert shards.for_event(_event(customer)) is shards.for_customer(customer)


def test_an_event_without_customer_goes_home_when_there_is_one_shard() -> None:
    shards = Shards(_settings(db_writer_url=A))
    assert shards.for_event(_event(None)) is shards.home


def test_an_event_without_customer_cannot_be_routed_among_several_shards() -> None:
    shards = Shards(_settings(db_shards=shard_map_json([A, B])), moves=False)
    with pytest.raises(MissingCustomer, match="has no customer_id and there are 2 shards"):
        shards.for_event(_event(None))


def _dead_url() -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/orders"


@pytest.mark.asyncio
async def test_start_check_names_the_shard_that_cannot_be_reached(shard_urls: list[str]) -> None:
    shards = Shards(_settings(db_shards=shard_map_json([shard_urls[0], _dead_url()]), db_connect_timeout_seconds=0.5))
    try:
        with pytest.raises(ShardUnreachable) as raised:
            await asyncio.wait_for(shards.check(timeout=1.0), timeout=10)
    finally:
        await shards.dispose()
    message = str(raised.value)
    assert "1 of 2 shards unreachable" in message
    assert "shard 's1'" in message
    assert "shard 's0'" not in message


@pytest.mark.asyncio
async def test_start_check_passes_when_every_shard_answers(shard_urls: list[str]) -> None:
    shards = Shards(_settings(db_shards=shard_map_json(shard_urls)))
    try:
        await asyncio.wait_for(shards.check(timeout=5.0), timeout=10)
    finally:
        await shards.dispose()


@pytest.mark.parametrize("process", ["payment", "relay", "api"])
def test_a_process_with_an_unreachable_shard_exits_naming_it(shard_urls: list[str], process: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")} | {
        "APP_DB_SHARDS": shard_map_json([shard_urls[0], _dead_url()]),
        "APP_DB_SSL": "disable",
        "APP_DB_SHARD_CHECK_SECONDS": "1",
        "APP_DB_CONNECT_TIMEOUT_SECONDS": "0.5",
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", process], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert f"{process}: cannot start:" in result.stderr
    assert "shard 's1'" in result.stderr


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {row["tablename"] for row in rows}


@pytest.fixture
def fresh_databases() -> Iterator[list[str]]:
    names = [f"app_migrate_{uuid.uuid4().hex[:10]}_{index}" for index in range(2)]
    with local_databases(names, PG_ADMIN_DSN) as urls:
        yield urls


# The newest migration: every shard must end there.
HEAD = max(path.name.split("_", 1)[0] for path in (REPO / "app/store/migrations/versions").glob("0*.py"))


def test_migrate_upgrades_every_shard_and_reports_each(fresh_databases: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")} | {
        "APP_DB_SHARDS": shard_map_json(fresh_databases),
        "APP_DB_SSL": "disable",
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", "migrate"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("shard ")]
    assert len(lines) == 2
    assert lines[0].startswith("shard s0 (") and lines[0].endswith(f": at {HEAD}")
    assert lines[1].startswith("shard s1 (") and lines[1].endswith(f": at {HEAD}")
    for url in fresh_databases:
        assert {"orders", "outbox", "inbox", "stock_reservations"} <= asyncio.run(_tables(url))


def test_migrate_names_the_shard_that_fails_and_still_migrates_the_others(fresh_databases: list[str]) -> None:
    missing = f"postgresql+asyncpg://{PG_HOST}/app_missing_{uuid.uuid4().hex[:8]}"
    shards = [Shard("s0", fresh_databases[0]), Shard("s1", missing), Shard("s2", fresh_databases[1])]
    seen: list[str] = []
    with pytest.raises(MigrationFailed) as raised:
        upgrade_all(_settings(db_writer_url=fresh_databases[0]), shards=shards, out=seen.append)
    assert str(raised.value).startswith("1 of 3 shards failed to migrate: shard s1 (")
    assert "app_missing_" in str(raised.value)
    assert [line.split(" (")[0] for line in seen] == ["shard s0", "shard s1", "shard s2"]
    assert "FAILED" in seen[1] and seen[0].endswith(f"at {HEAD}") and seen[2].endswith(f"at {HEAD}")
    assert "stock_reservations" in asyncio.run(_tables(fresh_databases[1]))


def test_the_synchronous_baseline_refuses_a_shard_map() -> None:
    with pytest.raises(ValidationError, match="APP_SYNC_BASELINE runs every step in one transaction on one database"):
        _settings(db_shards=shard_map_json([A, B]), sync_baseline=True)


def test_a_process_routing_with_several_shards_refuses_to_guess_before_it_has_read_the_moves() -> None:
    shards = Shards(_settings(db_shards=shard_map_json([A, B])))
    with pytest.raises(OverlayStale):
        shards.for_customer("cust-0001")


@pytest.mark.asyncio
async def test_a_moved_customer_routes_to_its_new_shard_from_the_overlay(shard_urls: list[str]) -> None:
    shards = Shards(_settings(db_shards=shard_map_json(shard_urls[:2])))
    customer = next(c for c in (f"cust-{n}" for n in range(1000)) if shards.ring.shard_for(c).name == "s0")
    try:
        async with shards.home.write() as conn:
            await conn.execute(
                text("INSERT INTO customer_shards (customer_id, shard) VALUES (:c, 's1') ON CONFLICT DO NOTHING"),
                {"c": customer},
            )
        await shards.follow_moves()
        assert shards.for_customer(customer) is shards.by_name("s1")
    finally:
        async with shards.home.write() as conn:
            await conn.execute(text("DELETE FROM customer_shards WHERE customer_id = :c"), {"c": customer})
        await shards.dispose()
