"""The customer → shard ring: balance, movement on growth, determinism, and bad shard lists."""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from app.store.shards import Shard, ShardConfigError, ShardMap, parse_shards, plan_add

REPO = Path(__file__).resolve().parents[3]
CUSTOMERS = [f"cust-{n:06d}" for n in range(100_000)]
FOUR = [f"shard-{n}" for n in range(4)]


def shard_map(names: list[str]) -> ShardMap:
    return ShardMap(tuple(Shard(name, f"postgresql+asyncpg://db-{name}/orders") for name in names))


def test_busiest_of_four_shards_holds_at_most_ten_percent_more_than_the_mean() -> None:
    shards = shard_map(FOUR)
    counts = Counter(shards.shard_for(customer).name for customer in CUSTOMERS)
    mean = len(CUSTOMERS) / len(FOUR)
    assert set(counts) == set(FOUR)
    assert max(counts.values()) <= 1.10 * mean, counts


def test_adding_a_fifth_shard_moves_close_to_the_ideal_share_and_only_onto_it() -> None:
    plan = plan_add(CUSTOMERS, FOUR, "shard-4")
    assert plan.ideal_share == pytest.approx(0.2)
    assert 0 < plan.share <= 1.2 * plan.ideal_share, plan.summary()
    assert {move.target for move in plan.moves} == {"shard-4"}
    assert {move.source for move in plan.moves} == set(FOUR)


def test_a_customer_always_lands_on_the_same_shard() -> None:
    first, second = shard_map(FOUR), shard_map(FOUR)
    sample = CUSTOMERS[:2000]
    assert [first.shard_for(c).name for c in sample] == [second.shard_for(c).name for c in sample]


def test_routing_does_not_depend_on_the_process_hash_seed() -> None:
    """Every pod must agree: the ring may not use Python's per-process randomised hash()."""
    script = (
        "from tests.app.store.test_shards import shard_map, FOUR, CUSTOMERS;"
        "print(','.join(shard_map(FOUR).shard_for(c).name for c in CUSTOMERS[:500]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env=os.environ | {"PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_the_order_of_the_shard_list_changes_only_the_home_shard() -> None:
    forward, backward = shard_map(FOUR), shard_map(list(reversed(FOUR)))
    sample = CUSTOMERS[:2000]
    assert [forward.shard_for(c).name for c in sample] == [backward.shard_for(c).name for c in sample]
    assert (forward.home.name, backward.home.name) == ("shard-0", "shard-3")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([], "the shard list is empty"),
        (["orders-a", "orders-b", "orders-a"], "shard name 'orders-a' appears 2 times"),
        (["Orders_A"], "shard name 'Orders_A' must be 1-31 lowercase letters"),
    ],
)
def test_an_unusable_shard_list_is_refused_naming_the_problem(names: list[str], expected: str) -> None:
    with pytest.raises(ShardConfigError, match=expected):
        shard_map(names)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("not json", "APP_DB_SHARDS is not JSON"),
        ('{"name": "a"}', "must be a JSON list"),
        ('[{"name": "a"}]', r"APP_DB_SHARDS\[0\]: needs a string 'name' and a 'writer_url'"),
        (
            '[{"name": "a", "writer_url": "u", "replicas": []}]',
            r"APP_DB_SHARDS\[0\] \(a\): unknown keys \['replicas'\]",
        ),
    ],
)
def test_a_malformed_shard_setting_names_the_entry(raw: str, expected: str) -> None:
    with pytest.raises(ShardConfigError, match=expected):
        parse_shards(raw)


def test_a_well_formed_shard_setting_keeps_readers_and_order() -> None:
    raw = '[{"name": "a", "writer_url": "w-a", "reader_urls": ["r-a"]}, {"name": "b", "writer_url": "w-b"}]'
    assert parse_shards(raw) == [Shard("a", "w-a", ("r-a",)), Shard("b", "w-b", ())]


def test_adding_a_shard_whose_name_is_taken_is_refused() -> None:
    with pytest.raises(ShardConfigError, match="shard name 'shard-1' appears 2 times"):
        plan_add(CUSTOMERS[:10], FOUR, "shard-1")
