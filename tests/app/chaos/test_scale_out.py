"""Scale-out: three replicas of each worker in one consumer group per kind, under load, with one
payment member killed with -9 (it never leaves the group: the coordinator has to time it out)
and a new member added mid-run. Every order reaches `fulfilled` once: no effect missing or doubled
(one payment event, one shipment, one notification of each kind, stock taken once per order)."""

import asyncio
import signal
import time

import pytest

from app.dev import chaos
from app.dev.stack import Stack

ORDERS = 60


def _kill_one_of_three_and_add_one(stack: Stack) -> None:
    members = stack.names("payment")
    assert len(members) == 3, members
    stack.signal(members[0], signal.SIGKILL)
    time.sleep(2)
    stack.start("payment")


@pytest.mark.xfail(
    reason="known bug, open: since the concurrent-lanes worker met the rebalance handling, a member killed "
    "and one added left 20 of 61 orders stuck (none lost or doubled) in a clean-clone run; "
    "it must pass again before scale-out counts as done",
    strict=False,
)
def test_three_replicas_per_worker_with_a_member_killed_and_one_added_lose_and_double_nothing() -> None:
    with Stack(workers_per_kind=3) as stack:
        result = asyncio.run(chaos.run_fault(stack, "scale-out", _kill_one_of_three_and_add_one, ORDERS, 6))
        assert len(stack.names("payment")) == 3
    counted = result.count
    assert counted.accepted >= ORDERS
    assert (counted.lost, counted.doubled, counted.stuck) == (0, 0, 0), counted
