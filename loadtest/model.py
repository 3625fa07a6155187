"""The load test's decisions as pure functions: the stage at a time, the Zipf draw, the verdict."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from loadtest.config import Slo, Stage

FINAL_STATUSES = frozenset({"fulfilled", "payment_failed", "out_of_stock"})
"""Statuses an order never leaves (the app's ``app.store.orders.FINAL``)."""


def stage_at(stages: Sequence[Stage], elapsed: float) -> tuple[int, float] | None:
    """(users, spawn rate) at ``elapsed`` seconds into the run; None once every stage is over."""
    ends = itertools.accumulate(s.seconds for s in stages)
    for stage, end in zip(stages, ends, strict=True):
        if elapsed < end:
            return stage.users, stage.spawn_rate
    return None


class Zipf:
    """Ranks 1..n with P(k) proportional to 1 / k**exponent: a few items get most of the traffic."""

    def __init__(self, n: int, exponent: float) -> None:
        weights = [1 / k**exponent for k in range(1, n + 1)]
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> int:
        return bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1]) + 1


@dataclass
class Order:
    order_id: str
    idempotency_key: str
    placed_at: float
    customer_id: str = ""
    final_at: float | None = None
    status: str = "pending"

    @property
    def completion_seconds(self) -> float | None:
        return None if self.final_at is None else self.final_at - self.placed_at


@dataclass
class Ledger:
    """Every order the run placed (the API answered 202), and what became of it."""

    orders: dict[str, Order] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    """Orders the API no longer knows (404 in the self-check): lost."""

    def placed(self, order_id: str, idempotency_key: str, at: float, customer_id: str = "") -> None:
        self.orders.setdefault(order_id, Order(order_id, idempotency_key, at, customer_id))

    def observed(self, order_id: str, status: str, at: float) -> None:
        order = self.orders[order_id]
        order.status = status
        if status in FINAL_STATUSES and order.final_at is None:
            order.final_at = at

    def outstanding(self) -> list[Order]:
        return [o for o in self.orders.values() if o.final_at is None and o.order_id not in self.missing]


@dataclass(frozen=True)
class Results:
    requests: int
    failures: int
    placement_p99_seconds: float | None
    placed: int
    final: int
    late: int
    """Final, but later than the SLO allows."""
    not_final: int
    missing: int

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def results(ledger: Ledger, *, requests: int, failures: int, p99: float | None, slo: Slo) -> Results:
    done = [o for o in ledger.orders.values() if o.final_at is not None]
    limit = slo.order_final_within_seconds
    return Results(
        requests=requests,
        failures=failures,
        placement_p99_seconds=p99,
        placed=len(ledger.orders),
        final=len(done),
        late=sum(1 for o in done if (o.completion_seconds or 0) > limit),
        not_final=len(ledger.outstanding()),
        missing=len(ledger.missing),
    )


def violations(r: Results, slo: Slo) -> list[str]:
    """Every broken SLO, in words; empty when the run passed. A lost order always fails."""
    found = []
    if r.missing:
        found.append(f"{r.missing} of {r.placed} placed orders are missing: the API returns 404 for them")
    if r.placed == 0:
        found.append("no order was placed, so nothing was verified")
    if r.placement_p99_seconds is not None and r.placement_p99_seconds >= slo.placement_p99_seconds:
        found.append(f"placement p99 {r.placement_p99_seconds:.3f} s >= {slo.placement_p99_seconds:g} s")
    if r.error_rate >= slo.max_error_rate and r.failures:
        found.append(f"error rate {r.error_rate:.4%} >= {slo.max_error_rate:.4%} ({r.failures} of {r.requests})")
    if r.not_final:
        found.append(f"{r.not_final} orders never reached a final status")
    if r.late:
        found.append(f"{r.late} orders took longer than {slo.order_final_within_seconds:g} s to become final")
    return found
