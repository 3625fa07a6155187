"""Routing during a reshard: the overlay wins over the ring, joining shards stay off the ring."""

from __future__ import annotations

import time
from typing import cast

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.overlay import Overlay, OverlayStale, is_fenced, ring_map, route
from app.store.shards import Shard, ShardConfigError

SHARDS = [Shard("s0", "postgresql+asyncpg://h/s0"), Shard("s1", "postgresql+asyncpg://h/s1"), Shard("s2", "x")]
CONFIGURED = {shard.name: shard for shard in SHARDS}


def overlay_with(moved: dict[str, str]) -> Overlay:
    overlay = Overlay(None, known=list(CONFIGURED))
    overlay._moved = moved
    return overlay


def test_a_joining_shard_is_left_off_the_ring():
    ring = ring_map(SHARDS, ["s2"])
    assert ring.names == ["s0", "s1"]
    assert {ring.shard_for(f"c-{n}").name for n in range(2000)} == {"s0", "s1"}


def test_a_moved_customer_is_routed_by_its_overlay_row_even_to_a_joining_shard():
    ring = ring_map(SHARDS, ["s2"])
    customer = "c-1"
    assert route(customer, ring, CONFIGURED, overlay_with({})).name == ring.shard_for(customer).name
    assert route(customer, ring, CONFIGURED, overlay_with({customer: "s2"})).name == "s2"


def test_joining_names_must_be_configured_and_never_the_home_shard():
    with pytest.raises(ShardConfigError, match="not configured: \\['s9'\\]"):
        ring_map(SHARDS, ["s9"])
    with pytest.raises(ShardConfigError, match="home shard 's0'"):
        ring_map(SHARDS, ["s0"])


def test_an_overlay_not_refreshed_for_too_long_refuses_to_route():
    overlay = Overlay(cast(AsyncEngine, object()), known=list(CONFIGURED))  # never refreshed from it
    overlay._refreshed = time.monotonic() - overlay.max_age_seconds - 1
    with pytest.raises(OverlayStale):
        overlay.lookup("c-1")


def test_only_the_fence_sqlstate_counts_as_fenced():
    class Unique(Exception):
        sqlstate = "23505"

    class Fenced(Exception):
        sqlstate = "WSF01"

    assert not is_fenced(DBAPIError("INSERT", {}, Unique()))
    assert is_fenced(DBAPIError("INSERT", {}, Fenced()))


def test_an_overlay_with_nothing_to_follow_never_goes_stale() -> None:
    # One shard: no home engine to read moves from; routing must keep working past max_age.
    overlay = Overlay(None, known=["s0"], max_age_seconds=0.0)
    time.sleep(0.01)
    assert overlay.lookup("cust-0001") is None
