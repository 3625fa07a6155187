"""`python -m app reshard plan|move --add NAME`: which customers a new shard takes, and moving them.

Both read the shard list from APP_DB_SHARDS, which must already name the new shard (its
database exists and is migrated: `pulumi up`, then `python -m app migrate`). The ring of today
is every configured shard except NAME and those in APP_DB_SHARDS_JOINING; a customer's current
shard is its overlay row (an earlier move) or that ring's choice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from sqlalchemy import text

from app.core.settings import Settings
from app.store.db import make_engine
from app.store.overlay import joining_names
from app.store.reshard import Cluster, MoveError, Options, move
from app.store.shards import Move, ReshardPlan, Shard, ShardConfigError, parse_shards, plan_add, ring


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m app reshard", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="print which customers move to the new shard, and their share")
    plan.add_argument("--add", required=True, metavar="NAME", help="the shard being added")
    do = commands.add_parser("move", help="move every customer the plan names (resumes an interrupted run)")
    do.add_argument("--add", required=True, metavar="NAME", help="the shard being added (configured in APP_DB_SHARDS)")
    do.add_argument("--drain-timeout", type=float, default=Options.drain_timeout_seconds, metavar="S")
    do.add_argument("--quiet", type=float, default=Options.quiet_seconds, metavar="S",
                    help="seconds without a write of the customer's rows before the copy")  # fmt: skip
    do.add_argument("--parallel", type=int, default=8, metavar="N", help="customers moved at once (default 8)")
    do.add_argument("--grace", type=float, default=Options.grace_seconds, metavar="S",
                    help="seconds between the flip and deleting the source rows (above the pods' overlay refresh)")  # fmt: skip
    return root


def configured_shards(settings: Settings) -> list[Shard]:
    raw = os.environ.get("APP_DB_SHARDS")
    if not raw:
        raise ShardConfigError("APP_DB_SHARDS is not set: resharding needs every shard's URL, the new one included")
    return parse_shards(raw)


async def customers(cluster: Cluster) -> set[str]:
    """Every customer id found on any shard (users rows and order owners)."""
    found: set[str] = set()
    for engine in cluster.engines.values():
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT id FROM users UNION SELECT DISTINCT customer_id FROM orders"))
            found.update(customer for (customer,) in rows)
    return found


async def overlay(cluster: Cluster) -> dict[str, str]:
    async with cluster[cluster.home].connect() as conn:
        rows = await conn.execute(text("SELECT customer_id, shard FROM customer_shards"))
        return {row.customer_id: row.shard for row in rows}


async def plan(cluster: Cluster, current: Sequence[str], new: str) -> ReshardPlan:
    """The ring's moves, with each source corrected by the overlay for customers moved before."""
    ids = sorted(await customers(cluster))
    result = plan_add(ids, current, new)
    moved = await overlay(cluster)
    if not moved:
        return result
    fixed = tuple(Move(m.customer_id, moved.get(m.customer_id, m.source), m.target) for m in result.moves)
    return ReshardPlan(moves=fixed, customers=result.customers, ideal_share=result.ideal_share)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    shards = configured_shards(settings)
    names = [shard.name for shard in shards]
    joining = set(joining_names())
    current = [name for name in names if name != args.add and name not in joining]
    if args.command == "move" and args.add not in names:
        raise ShardConfigError(f"shard {args.add!r} is not in APP_DB_SHARDS ({names}): configure it before moving")
    ring(current)  # the current ring must be valid on its own
    engines = {shard.name: make_engine(shard.writer_url, settings, pooled=False) for shard in shards}
    cluster = Cluster(engines=engines, home=names[0])
    try:
        result = await plan(cluster, current, args.add)
        print(result.summary())
        if args.command == "plan":
            for item in result.moves:
                done = " (moved)" if item.source == item.target else ""
                print(f"  {item.customer_id}: {item.source} -> {item.target}{done}")
            return 0
        options = Options(drain_timeout_seconds=args.drain_timeout, quiet_seconds=args.quiet, grace_seconds=args.grace)
        # Customers move independently (each has its own fence, copy and record), so several at
        # once overlap their drain and grace waits; the lock the fences take is brief.
        slots = asyncio.Semaphore(args.parallel)

        async def one(item: Move) -> None:
            async with slots:
                await move(cluster, item.customer_id, item.source, item.target, options, progress=print)

        outcomes = await asyncio.gather(*(one(item) for item in result.moves), return_exceptions=True)
        failed = [(item, error) for item, error in zip(result.moves, outcomes, strict=True) if error is not None]
        for item, error in failed:
            print(f"reshard: {item.customer_id} not moved: {error}", file=sys.stderr)
        if any(not isinstance(error, MoveError) for _, error in failed):
            raise next(error for _, error in failed if not isinstance(error, MoveError))  # type: ignore[misc]
        print(f"moved {len(result.moves) - len(failed)} of {len(result.moves)} customers to {args.add}")
        return 1 if failed else 0
    finally:
        for engine in engines.values():
            await engine.dispose()


def main(settings: Settings, argv: Sequence[str]) -> int:
    args = parser().parse_args(list(argv))
    try:
        return asyncio.run(run(settings, args))
    except (MoveError, ShardConfigError) as error:
        print(f"reshard: {error}", file=sys.stderr)
        return 1
