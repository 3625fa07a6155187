"""The storefront in a real browser (Debian's Chromium through playwright-core) against the
whole local pipeline: API, relay, four workers, a real Kafka broker, PostgreSQL and Redis.

One Chromium run drives every scenario (storefront.mjs) and reports what it saw; each test
below checks one behaviour from that report, plus the database where the behaviour is about
what was stored. `scripts/browser.sh` installs Chromium and the npm packages.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis

from app.dev.run import pipeline

HERE = Path(__file__).parent
REPO = HERE.parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))
SCREENSHOT = Path(os.environ.get("STOREFRONT_SCREENSHOT", REPO / "out" / "browser" / "storefront.png"))
RUN_TIMEOUT_SECONDS = 240
# Chromium logs every failed request as a console error; in the failure scenarios those are
# expected, anything else (an uncaught exception, a CSP refusal) is not.
RESOURCE_ERROR = "Failed to load resource"


async def _orders_by_customer(writer_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(writer_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id")
    finally:
        await conn.close()
    return {row["customer_id"]: row["n"] for row in rows}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    missing = [
        what
        for what, ok in (
            (CHROMIUM, Path(CHROMIUM).exists()),
            ("node", shutil.which("node") is not None),
            ("tests/browser/node_modules", (HERE / "node_modules" / "playwright-core").is_dir()),
        )
        if not ok
    ]
    assert not missing, f"missing {', '.join(missing)}: run `bash scripts/browser.sh`"
    report_path = tmp_path_factory.mktemp("browser") / "report.json"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    with pipeline({"APP_REDIS_URL": redis_url}) as running:
        api_pid = running.processes["api"].pid
        result = subprocess.run(
            ["node", "storefront.mjs", running.api, str(report_path), str(SCREENSHOT), str(api_pid)],
            cwd=HERE,
            env=os.environ | {"CHROMIUM": CHROMIUM},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        report: dict[str, Any] = json.loads(report_path.read_text())
        report["ordersByCustomer"] = asyncio.run(_orders_by_customer(running.writer_url))
    return report


def scenario(run: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = run[name]
    assert found["ok"], f"{name} failed in the browser: {found.get('failure')}\npage: {found.get('bodyText', '')[:800]}"
    return found


def test_catalogue_lists_products_with_price_and_stock(run: dict[str, Any]) -> None:
    browse = scenario(run, "browse")
    assert browse["rows"] == 50, "the seeded catalogue has 50 products"
    assert browse["firstRow"].startswith("Product 1 (SKU-0001) €1.00 1,000,000"), browse["firstRow"]


def test_page_is_accessible_landmarks_labels_and_focus(run: dict[str, Any]) -> None:
    browse = scenario(run, "browse")
    assert browse["landmarks"] == ["header", "main", "footer"]
    assert browse["unlabelledInputs"] == 0
    assert browse["focused"] == "catalogue-title", "focus should move to the page's heading"


def test_order_is_followed_live_to_fulfilled(run: dict[str, Any]) -> None:
    order = scenario(run, "order")
    assert order["shown"][-1] == "fulfilled", order["shown"]
    journey = ["pending", "paid", "reserved", "fulfilled"]
    assert [s for s in journey if s in order["shown"]] == order["shown"], "statuses shown out of order"
    assert [line.split(" at ")[0] for line in order["history"]] == journey
    assert order["live"] == "polite", "status changes must be announced"
    assert order["focused"] == "order-title"


def test_double_click_places_one_order(run: dict[str, Any]) -> None:
    scenario(run, "doubleClick")
    assert run["ordersByCustomer"].get("cust-0042") == 1, run["ordersByCustomer"]
    keys = run["doubleClick"]["postedKeys"]
    assert len(set(keys)) == 1, f"every POST of one checkout must carry one key: {keys}"


def test_retry_after_a_lost_response_reuses_the_key_and_orders_once(run: dict[str, Any]) -> None:
    lost = scenario(run, "lostResponse")
    assert "cannot be reached" in lost["error"]
    assert lost["focused"] == "error", "focus should move to the error"
    assert len(lost["postedKeys"]) == 2 and len(set(lost["postedKeys"])) == 1, lost["postedKeys"]
    assert run["ordersByCustomer"].get("cust-0043") == 1, run["ordersByCustomer"]


def test_server_error_is_shown_not_a_blank_page(run: dict[str, Any]) -> None:
    failed = scenario(run, "serverError")
    assert "HTTP 503" in failed["error"]
    assert "could not be loaded" in failed["products"]


def test_refusals_show_the_apis_reason(run: dict[str, Any]) -> None:
    refused = scenario(run, "refused")
    assert "There is no customer nobody" in refused["unknownCustomer"]
    assert "items.0.quantity" in refused["invalidOrder"] and "100" in refused["invalidOrder"]
    assert run["ordersByCustomer"].get("cust-0044") is None


def test_api_outage_shows_an_error_and_keeps_trying(run: dict[str, Any]) -> None:
    outage = scenario(run, "outage")
    assert "cannot be reached" in outage["placing"]
    assert "Retrying" in outage["following"]
    assert outage["bodyText"].strip(), "the page went blank"


def test_no_console_errors(run: dict[str, Any]) -> None:
    happy = ("browse", "order", "doubleClick")
    assert {name: run[name]["consoleErrors"] for name in happy} == {name: [] for name in happy}
    unexpected = {
        name: [e for e in result["consoleErrors"] if RESOURCE_ERROR not in e]
        for name, result in run.items()
        if isinstance(result, dict) and "consoleErrors" in result and name != "cspProbe"
    }
    assert all(not errors for errors in unexpected.values()), unexpected


def test_no_csp_violations(run: dict[str, Any]) -> None:
    assert scenario(run, "cspProbe")["cspViolations"], "the CSP probe saw no violation: the check is blind"
    violations = {
        name: result["cspViolations"]
        for name, result in run.items()
        if isinstance(result, dict) and "cspViolations" in result and name != "cspProbe"
    }
    assert all(not v for v in violations.values()), violations


def test_screenshot_is_taken(run: dict[str, Any]) -> None:
    scenario(run, "order")
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
