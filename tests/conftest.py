"""Shared fixtures: the offline engine runs each stack once per test session."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.offline.engine import run_stack, stack_names
from infra.offline.model import StackRun

STACKS = stack_names()

_runs: dict[str, StackRun] = {}


def stack(name: str) -> StackRun:
    """The resource graph of stack ``name``, run offline once and shared by the tests."""
    if name not in _runs:
        _runs[name] = run_stack(name)
    return _runs[name]


@pytest.fixture(params=STACKS)
def each_stack(request: pytest.FixtureRequest) -> StackRun:
    """Runs a test once for every stack in stacks/."""
    return stack(request.param)


@pytest.fixture
def run_of() -> Callable[[str], StackRun]:
    """``run_of("prod")``: one named stack's graph."""
    return stack
