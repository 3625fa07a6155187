"""The local run is a real program: every process type, started as `python -m app <process>`,
then (with --serve, what `make app` runs) the storefront at the URL it prints, until Ctrl-C."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.web.site import CONTENT_SECURITY_POLICY

REPO = Path(__file__).resolve().parents[3]
TIMEOUT_SECONDS = 150
STOREFRONT = "storefront: "


@dataclass(frozen=True)
class DevRun:
    output: str
    returncode: int
    page: httpx.Response | None


@pytest.fixture(scope="module")
def devrun() -> DevRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")} | {"PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.dev.run", "--serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    page = None
    deadline = time.monotonic() + TIMEOUT_SECONDS
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith(STOREFRONT):
                page = httpx.get(line.removeprefix(STOREFRONT).split()[0], timeout=5)
                process.send_signal(signal.SIGINT)  # Ctrl-C
            if time.monotonic() > deadline:
                break
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return DevRun("".join(lines), returncode, page)


def test_devrun_takes_an_order_from_pending_to_fulfilled(devrun: DevRun) -> None:
    assert "history: pending -> paid -> reserved -> fulfilled" in devrun.output, devrun.output[-2000:]


def test_make_app_serves_the_storefront_at_the_printed_url(devrun: DevRun) -> None:
    assert devrun.page is not None, f"no {STOREFRONT!r} line: {devrun.output[-2000:]}"
    assert devrun.page.status_code == 200
    assert devrun.page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert '<script type="module" src="/static/' in devrun.page.text


def test_ctrl_c_stops_everything_cleanly(devrun: DevRun) -> None:
    assert devrun.returncode == 0, devrun.output[-2000:]
    assert devrun.output.rstrip().endswith("stopping"), devrun.output[-500:]
