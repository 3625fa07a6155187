"""The load test's decisions: stages over time, the Zipf draw, the config, and the verdict."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from loadtest.auth import headers, load_provider, no_sign_in
from loadtest.config import DEFAULT_CONFIG, ConfigError, Slo, Stage, load_config
from loadtest.model import Ledger, Zipf, results, stage_at, violations

SLO = Slo(placement_p99_seconds=1.0, max_error_rate=0.001, order_final_within_seconds=60)


def ledger(placed: int, final: int, missing: int = 0, completion: float = 2.0) -> Ledger:
    book = Ledger()
    for n in range(placed):
        book.placed(f"o{n}", f"k{n}", at=100.0)
    for n in range(final):
        book.observed(f"o{n}", "fulfilled", at=100.0 + completion)
    book.missing |= {f"o{n}" for n in range(final, final + missing)}
    return book


def verdict(book: Ledger, *, requests: int = 1000, failures: int = 0, p99: float | None = 0.2) -> list[str]:
    return violations(results(book, requests=requests, failures=failures, p99=p99, slo=SLO), SLO)


def test_stages_run_in_order_then_the_run_ends():
    stages = [Stage(seconds=10, users=5, spawn_rate=1), Stage(seconds=5, users=25, spawn_rate=10)]
    assert stage_at(stages, 0) == (5, 1)
    assert stage_at(stages, 12) == (25, 10)
    assert stage_at(stages, 15) is None


def test_flash_sale_is_five_times_the_normal_traffic():
    stages = load_config().stages("flash-sale")
    assert max(s.users for s in stages) == 5 * stages[0].users == 5 * stages[-1].users


def test_zipf_sends_most_views_to_the_first_products():
    rng, zipf = random.Random(7), Zipf(50, 1.1)
    draws = Counter(zipf.draw(rng) for _ in range(20_000))
    assert set(draws) <= set(range(1, 51))
    assert draws[1] > draws[2] > draws[10] > draws[50]
    assert sum(draws[k] for k in range(1, 6)) > 0.4 * 20_000


def test_a_run_that_lost_an_order_fails_however_fast_it_was():
    problems = verdict(ledger(placed=100, final=99, missing=1), p99=0.01)
    assert problems == ["1 of 100 placed orders are missing: the API returns 404 for them"]


def test_a_clean_run_passes():
    assert verdict(ledger(placed=100, final=100)) == []


def test_slow_placements_errors_and_slow_or_stuck_orders_each_fail_the_run():
    assert verdict(ledger(100, 100), p99=1.0) == ["placement p99 1.000 s >= 1 s"]
    assert verdict(ledger(100, 100), failures=1) == ["error rate 0.1000% >= 0.1000% (1 of 1000)"]
    assert verdict(ledger(100, 98)) == ["2 orders never reached a final status"]
    assert verdict(ledger(100, 100, completion=61)) == ["100 orders took longer than 60 s to become final"]


def test_a_run_that_placed_nothing_fails():
    assert verdict(Ledger()) == ["no order was placed, so nothing was verified"]


def test_the_shipped_profiles_are_valid_and_an_unknown_one_is_named():
    config = load_config(DEFAULT_CONFIG)
    assert {"steady", "ramp", "flash-sale", "smoke"} <= set(config.profiles)
    with pytest.raises(ValueError, match="no profile 'black-friday'; the config has flash-sale, ramp, smoke, steady"):
        config.stages("black-friday")


def test_a_bad_config_names_the_file_and_the_key(tmp_path: Path):
    path = tmp_path / "profiles.yaml"
    path.write_text(DEFAULT_CONFIG.read_text().replace("placeOrder: 2", "placeOrder: -1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and "weights.placeOrder" in str(caught.value)


def fake_token(customer_id: str) -> str:
    return f"token-for-{customer_id}"


def test_sign_in_is_off_by_default_and_pluggable():
    assert load_provider("") is no_sign_in and headers(no_sign_in("cust-0001")) == {}
    provider = load_provider("tests.loadtest.test_model:fake_token")
    assert headers(provider("cust-0007")) == {"Authorization": "Bearer token-for-cust-0007"}
    with pytest.raises(ValueError, match=r"must look like package\.module:function"):
        load_provider("tests.loadtest.test_model")
