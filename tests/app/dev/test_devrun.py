"""The local run is a real program: every process type, started as `python -m app <process>`."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TIMEOUT_SECONDS = 150


def test_devrun_takes_an_order_from_pending_to_fulfilled() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    result = subprocess.run(
        [sys.executable, "-m", "app.dev.run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "history: pending -> paid -> reserved -> fulfilled" in result.stdout
