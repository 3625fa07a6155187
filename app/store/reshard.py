"""Moving one customer's rows to another shard: fence, drain, freeze, copy, verify, flip, delete.

Each step is recorded in `reshard_moves` on the home shard after it is done, and each is safe
to repeat, so a rerun after a crash anywhere resumes at the first step not recorded:

- fenced:   a `customer_fences` row (phase drain) on the source: its trigger refuses the
            customer's new orders (SQLSTATE WSF01) while its in-flight orders finish.
- drained:  waited (bounded) until the customer's orders are final, their outbox rows published
            and nothing of theirs was written for `quiet_seconds`.
- frozen:   the fence's phase becomes frozen: every write of the customer's rows is refused.
- copied:   the customer's rows replace whatever the target had of them, in one transaction.
- verified: row counts and a checksum per table agree between source and target.
- flipped:  a `customer_shards` row on the home shard routes the customer to the target.
- deleted:  after `grace_seconds` (longer than any pod's overlay refresh), the source rows go.
- done:     the fence is removed.

Fencing and freezing take a short SHARE ROW EXCLUSIVE lock on the guarded tables, so every
transaction that passed the trigger before the fence existed has committed (and is seen by the
drain check or the copy) before the fence is in force.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.store.orders import FINAL

log = logging.getLogger(__name__)

STEPS = ("planned", "fenced", "drained", "frozen", "copied", "verified", "flipped", "deleted", "done")
KILL_ENV = "APP_RESHARD_KILL_AT"
"""Test hook, `<step>:acted` or `<step>:recorded`: SIGKILL this process right after that step's
work (before its record) or right after its record, to prove every rerun finishes the job."""

GLOBAL_CONSUMERS = ("inventory",)
"""Inbox consumers whose claims guard global data on the home shard (stock): they never move."""

_ORDERS = "SELECT id FROM orders WHERE customer_id = :c"
_KEYS = "SELECT id::text FROM orders WHERE customer_id = :c"
_CONSUMERS = ", ".join(f"'{name}'" for name in GLOBAL_CONSUMERS)
_FINAL = ", ".join(f"'{status}'" for status in sorted(FINAL))


@dataclass(frozen=True)
class Part:
    """One table's share of a customer: which rows, and which columns a copy keeps."""

    table: str
    where: str
    surrogate: str | None = None
    """An identity column: the target numbers copied rows itself, so it is neither copied nor compared."""
    unchecked: tuple[str, ...] = ()
    """Columns left out of the checksum (the home shard's sign-in directory keeps its own subject)."""


PARTS = (
    Part("users", "id = :c", unchecked=("subject",)),
    Part("orders", "customer_id = :c"),
    Part("order_items", f"order_id IN ({_ORDERS})"),
    Part("order_status_history", f"order_id IN ({_ORDERS})", surrogate="id"),
    Part("outbox", f"key IN ({_KEYS})", surrogate="id"),
    Part(
        "inbox",
        f"consumer NOT IN ({_CONSUMERS}) AND event_id IN (SELECT event_id FROM outbox WHERE key IN ({_KEYS}))",
    ),
    Part("notifications", f"order_id IN ({_ORDERS})", surrogate="id"),
    Part("shipments", f"order_id IN ({_ORDERS})"),
)


class MoveError(RuntimeError):
    """A move cannot go on; the message names the customer, the step and what to do."""


@dataclass(frozen=True)
class Options:
    drain_timeout_seconds: float = 60.0
    quiet_seconds: float = 2.0
    grace_seconds: float = 5.0
    poll_seconds: float = 0.2
    lock_timeout_ms: int = 5000


@dataclass(frozen=True)
class Cluster:
    """One engine per configured shard, by name; `home` holds the overlay and the move records."""

    engines: Mapping[str, AsyncEngine]
    home: str

    def __getitem__(self, name: str) -> AsyncEngine:
        if name not in self.engines:
            raise MoveError(f"shard {name!r} is not configured (APP_DB_SHARDS)")
        return self.engines[name]


def _checkpoint(step: str, when: str) -> None:
    if os.environ.get(KILL_ENV) == f"{step}:{when}":
        os.kill(os.getpid(), signal.SIGKILL)


async def _columns(conn: AsyncConnection, part: Part) -> list[str]:
    rows = await conn.execute(
        text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = :t ORDER BY ordinal_position"
        ),
        {"t": part.table},
    )
    return [name for (name,) in rows if name != part.surrogate]


async def recorded(cluster: Cluster, customer: str) -> tuple[str, str, str] | None:
    """(source, target, step) of the customer's last move, if any."""
    async with cluster[cluster.home].connect() as conn:
        row = (
            await conn.execute(
                text("SELECT source, target, step FROM reshard_moves WHERE customer_id = :c"), {"c": customer}
            )
        ).first()
    return None if row is None else (row.source, row.target, row.step)


async def _record(cluster: Cluster, customer: str, source: str, target: str, step: str) -> None:
    async with cluster[cluster.home].begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO reshard_moves (customer_id, source, target, step) VALUES (:c, :s, :t, :step) "
                "ON CONFLICT (customer_id) DO UPDATE SET source = EXCLUDED.source, target = EXCLUDED.target, "
                "step = EXCLUDED.step, updated_at = now()"
            ),
            {"c": customer, "s": source, "t": target, "step": step},
        )


LOCK_ORDER = ("shipments", "notifications", "users", "orders", "order_items", "order_status_history")
"""The tables whose fence trigger refuses a frozen customer's writes (outbox and inbox rows only
ever come with a write to one of them), in the order the app's transactions first write them (fulfillment writes a
shipment before its order's transition; nothing writes orders before a shipment or a
notification), so waiting for this lock never closes a cycle with an app transaction."""


async def _lock_guarded(conn: AsyncConnection, options: Options) -> None:
    await conn.execute(text(f"SET LOCAL lock_timeout = {int(options.lock_timeout_ms)}"))
    await conn.execute(text(f"LOCK TABLE {', '.join(LOCK_ORDER)} IN SHARE ROW EXCLUSIVE MODE"))


async def fence(engine: AsyncEngine, customer: str, target: str, options: Options) -> None:
    async with engine.begin() as conn:
        await _lock_guarded(conn, options)
        await conn.execute(
            text("INSERT INTO customer_fences (customer_id, target) VALUES (:c, :t) ON CONFLICT DO NOTHING"),
            {"c": customer, "t": target},
        )


async def drain(engine: AsyncEngine, customer: str, options: Options) -> None:
    query = text(
        f"""SELECT
        (SELECT count(*) FROM orders WHERE customer_id = :c AND status NOT IN ({_FINAL})) AS open,
        (SELECT count(*) FROM outbox WHERE key IN ({_KEYS}) AND published_at IS NULL AND parked_at IS NULL)
            AS unpublished,
        extract(epoch FROM now() - greatest(
            (SELECT max(updated_at) FROM orders WHERE customer_id = :c),
            (SELECT max(published_at) FROM outbox WHERE key IN ({_KEYS})),
            (SELECT max(sent_at) FROM notifications WHERE order_id IN ({_ORDERS})),
            (SELECT max(created_at) FROM shipments WHERE order_id IN ({_ORDERS}))
        )) AS idle"""
    )
    deadline = time.monotonic() + options.drain_timeout_seconds
    while True:
        async with engine.connect() as conn:
            row = (await conn.execute(query, {"c": customer})).one()
        idle = float("inf") if row.idle is None else float(row.idle)
        if row.open == 0 and row.unpublished == 0 and idle >= options.quiet_seconds:
            return
        if time.monotonic() > deadline:
            raise MoveError(
                f"customer {customer!r}: {row.open} orders not final and {row.unpublished} outbox rows unpublished "
                f"after {options.drain_timeout_seconds:g} s; new orders stay refused, rerun `reshard move` to go on"
            )
        await asyncio.sleep(options.poll_seconds)


async def freeze(engine: AsyncEngine, customer: str, options: Options) -> None:
    async with engine.begin() as conn:
        await _lock_guarded(conn, options)
        await conn.execute(text("UPDATE customer_fences SET phase = 'frozen' WHERE customer_id = :c"), {"c": customer})


async def _delete(conn: AsyncConnection, customer: str, *, keep_user: bool) -> None:
    for part in reversed(PARTS):
        if part.table == "users" and keep_user:
            continue
        await conn.execute(text(f"DELETE FROM {part.table} WHERE {part.where}"), {"c": customer})


async def copy(source: AsyncEngine, target: AsyncEngine, customer: str) -> None:
    """Replace the target's rows of the customer with the source's, in one target transaction."""
    async with source.connect() as src:
        dumps: list[tuple[Part, list[str], str]] = []
        for part in PARTS:
            query = f"SELECT coalesce(json_agg(t ORDER BY {part.surrogate or '1'}), '[]') FROM {part.table} t"
            rows = (await src.execute(text(f"{query} WHERE {part.where}"), {"c": customer})).scalar_one()
            dumps.append((part, await _columns(src, part), rows if isinstance(rows, str) else _json(rows)))
    async with target.begin() as dst:
        # The target's users row may be the home shard's sign-in directory entry: merged, never dropped.
        await _delete(dst, customer, keep_user=True)
        for part, columns, rows in dumps:
            names = ", ".join(columns)
            insert = f"INSERT INTO {part.table} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{part.table}, :rows)"
            if part.table == "users":
                merge = ", ".join(f"{c} = coalesce(EXCLUDED.{c}, users.{c})" for c in columns if c != "id")
                insert += f" ON CONFLICT (id) DO UPDATE SET {merge}"
            await dst.execute(text(insert), {"rows": rows})


def _json(value: object) -> str:
    return json.dumps(value)


async def checksums(engine: AsyncEngine, customer: str) -> dict[str, tuple[int, str]]:
    """Per table: (rows, md5 over the sorted md5s of each row's compared columns)."""
    sums: dict[str, tuple[int, str]] = {}
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL TimeZone = 'UTC'"))
        for part in PARTS:
            columns = [c for c in await _columns(conn, part) if c not in part.unchecked]
            query = (
                "SELECT count(*) AS n, md5(coalesce(string_agg(h, '' ORDER BY h), '')) AS sum FROM "
                f"(SELECT md5(ROW({', '.join(columns)})::text) AS h FROM {part.table} WHERE {part.where}) x"
            )
            row = (await conn.execute(text(query), {"c": customer})).one()
            sums[part.table] = (int(row.n), str(row.sum))
    return sums


async def verify(source: AsyncEngine, target: AsyncEngine, customer: str) -> dict[str, tuple[int, str]]:
    expected, actual = await checksums(source, customer), await checksums(target, customer)
    wrong = [f"{t}: source {expected[t]}, target {actual[t]}" for t in expected if expected[t] != actual[t]]
    if wrong:
        raise MoveError(f"customer {customer!r}: the target's copy differs ({'; '.join(wrong)})")
    return expected


async def flip(home: AsyncEngine, customer: str, target: str) -> None:
    async with home.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO customer_shards (customer_id, shard) VALUES (:c, :t) "
                "ON CONFLICT (customer_id) DO UPDATE SET shard = EXCLUDED.shard, moved_at = now() "
                "WHERE customer_shards.shard <> EXCLUDED.shard"
            ),
            {"c": customer, "t": target},
        )


async def wait_grace(home: AsyncEngine, customer: str, options: Options) -> None:
    """Until every pod's overlay has seen the flip, stale pods may still read the source."""
    async with home.connect() as conn:
        since = (
            await conn.execute(
                text("SELECT extract(epoch FROM now() - moved_at) FROM customer_shards WHERE customer_id = :c"),
                {"c": customer},
            )
        ).scalar_one_or_none()
    remaining = options.grace_seconds - float(since or 0.0)
    if remaining > 0:
        await asyncio.sleep(remaining)


async def delete_source(engine: AsyncEngine, customer: str, *, keep_user: bool, options: Options) -> None:
    async with engine.begin() as conn:
        # Same lock as the fences, taken first: concurrent moves on one source never deadlock.
        await _lock_guarded(conn, options)
        await _delete(conn, customer, keep_user=keep_user)


async def unfence(engine: AsyncEngine, customer: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM customer_fences WHERE customer_id = :c"), {"c": customer})


async def move(
    cluster: Cluster,
    customer: str,
    source: str,
    target: str,
    options: Options = Options(),
    progress: Callable[[str], None] = lambda line: None,
) -> str:
    """Move one customer from `source` (where it lives now) to `target`, resuming a recorded move."""
    last = await recorded(cluster, customer)
    if last is not None and last[2] != "done":
        if last[1] != target:
            raise MoveError(f"customer {customer!r} is half-way through a move to {last[1]!r}: finish that first")
        source, step = last[0], last[2]
    elif source == target:
        return "done"
    else:
        step = "planned"
        await _record(cluster, customer, source, target, step)
    src, dst, home = cluster[source], cluster[target], cluster[cluster.home]
    actions = {
        "fenced": lambda: fence(src, customer, target, options),
        "drained": lambda: drain(src, customer, options),
        "frozen": lambda: freeze(src, customer, options),
        "copied": lambda: copy(src, dst, customer),
        "verified": lambda: _verify_or_recopy(src, dst, customer),
        "flipped": lambda: flip(home, customer, target),
        "deleted": lambda: _grace_then_delete(home, src, customer, source == cluster.home, options),
        "done": lambda: unfence(src, customer),
    }
    for name in STEPS[STEPS.index(step) + 1 :]:
        await actions[name]()
        _checkpoint(name, "acted")
        await _record(cluster, customer, source, target, name)
        _checkpoint(name, "recorded")
        progress(f"{customer}: {name} ({source} -> {target})")
    return "done"


async def _grace_then_delete(
    home: AsyncEngine, src: AsyncEngine, customer: str, keep_user: bool, options: Options
) -> None:
    await wait_grace(home, customer, options)
    await delete_source(src, customer, keep_user=keep_user, options=options)


async def _verify_or_recopy(src: AsyncEngine, dst: AsyncEngine, customer: str) -> None:
    """A mismatch after a crash mid-copy cannot happen (the copy is one transaction), but if the
    target was touched since, one fresh copy from the frozen source repairs it before giving up."""
    try:
        await verify(src, dst, customer)
    except MoveError:
        log.warning("customer %s: copy differs from the source; copying again", customer)
        await copy(src, dst, customer)
        await verify(src, dst, customer)
