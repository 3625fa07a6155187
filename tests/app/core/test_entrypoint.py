"""`python -m app <process>` dispatch."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_unknown_process_type_exits_with_usage() -> None:
    result = subprocess.run([sys.executable, "-m", "app", "nope"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "api|relay|payment|inventory|notification|fulfillment|bootstrap-db|migrate|topics" in result.stderr
