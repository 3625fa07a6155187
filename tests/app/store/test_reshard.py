"""Resharding on real local PostgreSQL databases: the plan, the move, kills between steps, fences."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.settings import Settings
from app.store import reshard
from app.store.db import make_engine
from app.store.overlay import FENCED_SQLSTATE, Overlay, is_fenced
from app.store.reshard import STEPS, Cluster, MoveError, Options
from tests.app.store.reshard_fixtures import NEW, Shards, customers_by_fate, seed_customer, three_shards

FAST = Options(drain_timeout_seconds=5, quiet_seconds=0, grace_seconds=0.1, poll_seconds=0.05)


@pytest.fixture
def shards() -> Iterator[Shards]:
    yield from three_shards()


def seed(shards: Shards, fates: dict[str, list[str]]) -> None:
    async def go() -> None:
        for fate, ids in fates.items():
            source = fate.split("->")[0]
            for customer in ids:
                await seed_customer(shards.dsn(source), customer, home_dsn=shards.dsn("s0"))

    asyncio.run(go())


def cluster(shards: Shards) -> Cluster:
    settings = Settings(db_writer_url=shards.urls["s0"], db_ssl="disable")
    engines: dict[str, AsyncEngine] = {
        name: make_engine(url, settings, pooled=False) for name, url in shards.urls.items()
    }
    return Cluster(engines=engines, home="s0")


async def snapshot(shards: Shards, customers: list[str]) -> dict[str, dict[str, dict[str, tuple[int, str]]]]:
    """Per shard, per customer: each table's (rows, checksum)."""
    found: dict[str, dict[str, dict[str, tuple[int, str]]]] = {}
    c = cluster(shards)
    try:
        for name, engine in c.engines.items():
            found[name] = {customer: await reshard.checksums(engine, customer) for customer in customers}
    finally:
        for engine in c.engines.values():
            await engine.dispose()
    return found


async def fetch(shards: Shards, name: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(shards.dsn(name))
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


def reshard_cli(shards: Shards, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "APP_DB_WRITER_URL": shards.urls["s0"],
        "APP_DB_SSL": "disable",
        "APP_DB_SHARDS": shards.env,
        "APP_LOG_LEVEL": "WARNING",
    }
    env.pop(reshard.KILL_ENV, None)
    if kill_at:
        env[reshard.KILL_ENV] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "app", "reshard", *args], env=env, capture_output=True, text=True, timeout=120
    )


EMPTY = {table: (0, "d41d8cd98f00b204e9800998ecf8427e") for table in (p.table for p in reshard.PARTS)}


def test_plan_prints_the_customers_that_move_and_a_share_close_to_the_ideal(shards: Shards):
    async def go() -> None:
        for name in ("s0", "s1"):
            conn = await asyncpg.connect(shards.dsn(name))
            await conn.execute(
                "INSERT INTO users (id) SELECT $1 || '-' || n FROM generate_series(1, 1500) n", f"plan-{name}"
            )
            await conn.close()

    asyncio.run(go())
    result = reshard_cli(shards, "plan", "--add", NEW)
    assert result.returncode == 0, result.stderr
    head, *lines = result.stdout.splitlines()
    moved, total = int(head.split()[0]), int(head.split()[2])
    assert total == 3000  # every customer found on both shards
    assert abs(moved / total - 1 / 3) < 0.05, head  # ideal for a third shard: 1/3
    moves = [line for line in lines if "->" in line]
    assert len(moves) == moved and all(line.endswith(f"-> {NEW}") for line in moves)


def _assert_moved_whole(fates: dict[str, list[str]], before: dict, after: dict) -> None:
    """Each mover's rows on the target equal its rows on the source before; none left behind."""
    for fate in ("s0->s2", "s1->s2"):
        [customer] = fates[fate]
        source = fate.split("->")[0]
        assert after[NEW][customer] == before[source][customer], f"{customer} differs on the target"
        left = after[source][customer]
        if source == "s0":  # the home shard keeps its sign-in directory entry
            left = {**left, "users": EMPTY["users"]}
        assert left == EMPTY, f"{customer} left rows on {source}"


def test_move_copies_and_verifies_then_flips_and_deletes_the_source_rows(shards: Shards):
    fates = customers_by_fate(1)
    seed(shards, fates)
    everyone = [c for ids in fates.values() for c in ids]
    before = asyncio.run(snapshot(shards, everyone))

    result = reshard_cli(shards, "move", "--add", NEW, "--quiet", "0", "--grace", "0.1")
    assert result.returncode == 0, result.stderr

    after = asyncio.run(snapshot(shards, everyone))
    _assert_moved_whole(fates, before, after)
    for fate in ("s0", "s1"):
        [customer] = fates[fate]
        assert after[fate][customer] == before[fate][customer] and after[NEW][customer] == EMPTY
    overlay = asyncio.run(fetch(shards, "s0", "SELECT customer_id, shard FROM customer_shards"))
    assert {row["customer_id"]: row["shard"] for row in overlay} == {
        fates["s0->s2"][0]: NEW,
        fates["s1->s2"][0]: NEW,
    }
    # The global stock claims stay on the home shard.
    claims = asyncio.run(fetch(shards, "s0", "SELECT count(*) AS n FROM inbox WHERE consumer = 'inventory'"))
    assert claims[0]["n"] == 4 * 2


def test_a_copy_that_fails_verification_is_neither_flipped_nor_deleted(shards: Shards, monkeypatch):
    fates = customers_by_fate(1)
    seed(shards, {"s1->s2": fates["s1->s2"]})
    [customer] = fates["s1->s2"]
    real_copy = reshard.copy

    async def lossy_copy(source, target, who):
        await real_copy(source, target, who)
        async with target.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM notifications")

    monkeypatch.setattr(reshard, "copy", lossy_copy)

    async def go() -> None:
        c = cluster(shards)
        try:
            with pytest.raises(MoveError, match="notifications"):
                await reshard.move(c, customer, "s1", NEW, FAST)
        finally:
            for engine in c.engines.values():
                await engine.dispose()

    asyncio.run(go())
    assert asyncio.run(fetch(shards, "s0", "SELECT * FROM customer_shards")) == []
    assert len(asyncio.run(fetch(shards, "s1", "SELECT * FROM orders WHERE customer_id = $1", customer))) == 2
    [step] = asyncio.run(fetch(shards, "s0", "SELECT step FROM reshard_moves WHERE customer_id = $1", customer))
    assert step["step"] == "copied"


@pytest.mark.parametrize("when", ["acted", "recorded"])
def test_a_move_killed_between_any_two_steps_finishes_on_rerun_with_nothing_lost_or_doubled(shards: Shards, when):
    fates = customers_by_fate(1)
    seed(shards, fates)
    everyone = [c for ids in fates.values() for c in ids]
    before = asyncio.run(snapshot(shards, everyone))

    for step in STEPS[1:]:
        killed = reshard_cli(shards, "move", "--add", NEW, "--quiet", "0", "--grace", "0.1", kill_at=f"{step}:{when}")
        assert killed.returncode == -9, f"not killed at {step}:{when}: {killed.stderr}"
    final = reshard_cli(shards, "move", "--add", NEW, "--quiet", "0", "--grace", "0.1")
    assert final.returncode == 0, final.stderr

    after = asyncio.run(snapshot(shards, everyone))
    _assert_moved_whole(fates, before, after)
    overlay = asyncio.run(fetch(shards, "s0", "SELECT customer_id, shard FROM customer_shards"))
    assert sorted(row["customer_id"] for row in overlay if row["shard"] == NEW) == sorted(
        fates["s0->s2"] + fates["s1->s2"]
    )
    for name in ("s0", "s1"):
        assert asyncio.run(fetch(shards, name, "SELECT * FROM customer_fences")) == [], f"fence left on {name}"
    steps = asyncio.run(fetch(shards, "s0", "SELECT DISTINCT step FROM reshard_moves"))
    assert [row["step"] for row in steps] == ["done"]


async def _insert_order(dsn: str, customer: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO orders (id, customer_id, status, currency, total_cents) "
            "VALUES (gen_random_uuid(), $1, 'pending', 'EUR', 100)",
            customer,
        )
    finally:
        await conn.close()


def test_a_fenced_customer_cannot_place_an_order_and_gets_the_dedicated_error(shards: Shards):
    dsn = shards.dsn("s1")
    asyncio.run(fetch(shards, "s1", "INSERT INTO users (id) VALUES ('fenced-1'), ('free-1')"))
    asyncio.run(fetch(shards, "s1", "INSERT INTO customer_fences (customer_id, target) VALUES ('fenced-1', 's2')"))

    with pytest.raises(asyncpg.PostgresError) as refused:
        asyncio.run(_insert_order(dsn, "fenced-1"))
    assert refused.value.sqlstate == FENCED_SQLSTATE and is_fenced(refused.value)
    assert "moving to shard s2" in str(refused.value)

    async def through_sqlalchemy() -> None:
        engine = make_engine(shards.urls["s1"], Settings(db_writer_url=shards.urls["s1"], db_ssl="disable"))
        try:
            async with engine.begin() as conn:
                await conn.exec_driver_sql(
                    "INSERT INTO orders (id, customer_id, status, currency, total_cents) "
                    "VALUES (gen_random_uuid(), 'fenced-1', 'pending', 'EUR', 100)"
                )
        finally:
            await engine.dispose()

    with pytest.raises(DBAPIError) as wrapped:  # as the app's engines raise it
        asyncio.run(through_sqlalchemy())
    assert is_fenced(wrapped.value)
    asyncio.run(_insert_order(dsn, "free-1"))  # other customers are not held up


def test_a_draining_customer_finishes_its_orders_but_a_frozen_one_writes_nothing(shards: Shards):
    asyncio.run(fetch(shards, "s1", "INSERT INTO users (id) VALUES ('moving-1')"))
    asyncio.run(_insert_order(shards.dsn("s1"), "moving-1"))
    asyncio.run(fetch(shards, "s1", "INSERT INTO customer_fences (customer_id, target) VALUES ('moving-1', 's2')"))
    advance = "UPDATE orders SET status = 'paid' WHERE customer_id = 'moving-1'"
    asyncio.run(fetch(shards, "s1", advance))

    asyncio.run(fetch(shards, "s1", "UPDATE customer_fences SET phase = 'frozen'"))
    with pytest.raises(asyncpg.PostgresError) as refused:
        asyncio.run(fetch(shards, "s1", advance.replace("'paid'", "'reserved'")))
    assert refused.value.sqlstate == FENCED_SQLSTATE


def test_the_overlay_reads_moved_customers_and_ignores_rows_naming_unknown_shards(shards: Shards):
    asyncio.run(fetch(shards, "s0", "INSERT INTO customer_shards (customer_id, shard) VALUES ('a', 's2'), ('b', 's9')"))

    async def go() -> dict[str, str | None]:
        c = cluster(shards)
        try:
            overlay = Overlay(c["s0"], known=["s0", "s1", "s2"])
            await overlay.refresh()
            return {who: overlay.lookup(who) for who in ("a", "b", "c")}
        finally:
            for engine in c.engines.values():
                await engine.dispose()

    assert asyncio.run(go()) == {"a": "s2", "b": None, "c": None}


def test_the_move_locks_exactly_the_tables_the_fence_trigger_guards():
    path = Path(reshard.__file__).parent / "migrations" / "versions" / "0006_reshard.py"
    spec = importlib.util.spec_from_file_location("reshard_migration", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert sorted(reshard.LOCK_ORDER) == sorted(migration.GUARDED)


def test_fencing_waits_for_an_in_flight_fulfillment_instead_of_deadlocking_with_it(shards: Shards):
    """Fulfillment writes the shipment, then the order: the fence's lock must not sit between."""
    asyncio.run(fetch(shards, "s1", "INSERT INTO users (id) VALUES ('ship-1')"))
    asyncio.run(_insert_order(shards.dsn("s1"), "ship-1"))

    async def go() -> None:
        app = await asyncpg.connect(shards.dsn("s1"))
        c = cluster(shards)
        try:
            tx = app.transaction()
            await tx.start()
            await app.execute(
                "INSERT INTO shipments (id, order_id) SELECT gen_random_uuid(), id FROM orders WHERE customer_id = 'ship-1'"
            )
            fencing = asyncio.create_task(reshard.fence(c["s1"], "ship-1", NEW, FAST))
            await asyncio.sleep(0.5)  # the fence now waits for this transaction
            assert not fencing.done()
            await app.execute("UPDATE orders SET status = 'fulfilled' WHERE customer_id = 'ship-1'")
            await tx.commit()
            await asyncio.wait_for(fencing, timeout=10)
        finally:
            await app.close()
            for engine in c.engines.values():
                await engine.dispose()

    asyncio.run(go())
    assert len(asyncio.run(fetch(shards, "s1", "SELECT * FROM customer_fences WHERE customer_id = 'ship-1'"))) == 1
