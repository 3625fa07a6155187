"""`make bench QUICK=1` as a test: the whole stack under wrk for a few seconds, then drained.

It asserts only what the smoke run promises: every order placed reached a terminal status and
nothing was lost. Speed is never asserted here (see docs/benchmarks.md for the figures)."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_bench_drains_the_pipeline_with_nothing_lost(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        # The Redis logical database the test run owns (the bench flushes it).
        env=os.environ | {"BENCH_REDIS_DB": os.environ.get("BENCH_REDIS_DB", "14")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (record,) = (tmp_path / "bench").glob("*.json")
    (run,) = json.loads(record.read_text())["e2e"]
    assert run["placed"] > 0, "the load generator placed no orders"
    assert (run["drained"], run["lost"]) == (True, 0)
