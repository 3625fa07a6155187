"""The load test as a user runs it (``python -m loadtest``, what ``make loadtest`` calls), on loopback.

Against the real pipeline (API, relay, four workers, broker, PostgreSQL, Redis) it passes and
every order it placed is final; against a deliberately slowed or lossy stand-in API it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.dev.localbroker import free_port
from app.dev.run import pipeline

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_SECONDS = 240
REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))
# Short and bounded: a few users for seconds. The pipeline run's latency SLO is relaxed (5 s)
# because this shared machine's timing is noise; the slowed-API test checks the real 1 s one.
CONFIG = """
weights: {{browse: 1, placeOrder: 3}}
catalogue: {{products: 50, customers: 100, zipfExponent: 1.1, currency: EUR, maxQuantity: 3}}
thinkSeconds: [0.1, 0.3]
pollSeconds: 0.2
slo: {{placementP99Seconds: {p99}, maxErrorRate: 0.001, orderFinalWithinSeconds: 60}}
profiles:
  smoke: [{{seconds: 6, users: 3, spawnRate: 3}}]
"""


def run_loadtest(
    url: str, tmp_path: Path, p99: float = 1.0, issuer: str | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    config = tmp_path / "profiles.yaml"
    config.write_text(CONFIG.format(p99=p99))
    out = tmp_path / "out"
    sign_in = ["--token-provider", "loadtest.local_tokens:provider"] if issuer else []
    env = os.environ | ({"LOADTEST_ISSUER_URL": issuer} if issuer else {})
    result = subprocess.run(
        [sys.executable, "-m", "loadtest", "--url", url, "--profile", "smoke", "--config", str(config), "--out", str(out), *sign_in],
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, env=env,
    )  # fmt: skip
    (run_dir,) = out.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").exists() else {}
    return result, summary


@pytest.fixture
def stub_api(request: pytest.FixtureRequest) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.loadtest.stub_api", "--port", str(port), *request.param], cwd=REPO,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/api/products/SKU-0001", timeout=1)
                break
            except httpx.HTTPError:
                subprocess.run(["sleep", "0.1"], check=True)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("stub_api", [["--delay", "1.2"]], indirect=True)
def test_a_slowed_api_fails_the_run_on_placement_latency(stub_api: str, tmp_path: Path):
    result, summary = run_loadtest(stub_api, tmp_path)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert summary["placement_p99_seconds"] >= 1.2
    assert any("placement p99" in v for v in summary["violations"]), summary
    assert summary["missing"] == 0


@pytest.mark.parametrize("stub_api", [["--lose-every", "3"]], indirect=True)
def test_an_api_that_loses_orders_fails_the_run_even_when_fast(stub_api: str, tmp_path: Path):
    result, summary = run_loadtest(stub_api, tmp_path)
    assert result.returncode == 1
    assert summary["placement_p99_seconds"] < 1.0
    assert summary["missing"] > 0 and summary["placed"] == summary["final"] + summary["missing"]
    assert summary["violations"][0].endswith("placed orders are missing: the API returns 404 for them")


def test_against_the_local_pipeline_every_placed_order_is_final_and_the_report_is_written(tmp_path: Path):
    redis = {"APP_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}"}
    with pipeline(env=redis) as running:
        result, summary = run_loadtest(running.api, tmp_path, p99=5.0, issuer=running.issuer.url)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert summary["placed"] > 0 and summary["final"] == summary["placed"]
    assert summary["missing"] == 0 and summary["not_final"] == 0 and summary["violations"] == []
    (run_dir,) = (tmp_path / "out").iterdir()
    assert (run_dir / "report.html").stat().st_size > 0
    stats = (run_dir / "stats_stats.csv").read_text()
    assert "POST /api/orders" in stats and "GET /api/orders/{id}" in stats
