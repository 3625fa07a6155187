"""The shared fixtures stay out of each other's way when pytest-xdist runs several workers."""

import pytest

from tests.app.conftest import _redis_db


def test_each_xdist_worker_flushes_its_own_redis_database(monkeypatch):
    monkeypatch.setenv("TEST_REDIS_DB", "6")
    found = []
    for worker in ("gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        found.append(_redis_db())
    assert found == [6, 7, 8]


def test_a_base_that_pushes_a_worker_past_db_15_is_refused(monkeypatch):
    monkeypatch.setenv("TEST_REDIS_DB", "15")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    with pytest.raises(pytest.UsageError, match="TEST_REDIS_DB=15"):
        _redis_db()
