"""A workload waits for what creates the database login, the topics and the secrets it uses.

Each case is the same small program with one dependency dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.offline.engine import run_stack
from infra.offline.mocks import OfflineError

PROGRAM = Path(__file__).parent / "programs" / "readiness.py"


def test_a_workload_waiting_for_everything_it_needs_passes():
    run = run_stack("dev", {"offline:mistake": "none"}, program=PROGRAM)
    assert run.one("kubernetes:apps/v1:Deployment").note.startswith("validated")


@pytest.mark.parametrize(
    ("mistake", "problem"),
    [
        ("login", "database login 'app': nothing it waits for creates it"),
        ("topics", "Kafka topics orders: nothing it waits for creates them"),
        ("secret", "Secret 'token': it does not wait for it"),
    ],
)
def test_a_workload_that_does_not_wait_for_what_it_needs_fails_naming_it(mistake: str, problem: str):
    with pytest.raises(OfflineError) as caught:
        run_stack("dev", {"offline:mistake": mistake}, program=PROGRAM)
    message = str(caught.value)
    assert "Deployment shop/worker would start before what it needs exists" in message
    assert problem in message
    assert "Fix: depends_on what creates each" in message
