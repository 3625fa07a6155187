"""`python -m app <process>` dispatch."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_unknown_process_type_exits_with_usage() -> None:
    result = subprocess.run([sys.executable, "-m", "app", "nope"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "api|relay|payment|inventory|notification|fulfillment|bootstrap-db|migrate|topics" in result.stderr
    assert "python -m app {reshard} <subcommand>" in result.stderr


def test_a_process_type_takes_no_arguments() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "api", "extra"], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "usage: python -m app" in result.stderr


def test_reshard_without_a_subcommand_shows_its_own_usage() -> None:
    env = {"APP_DB_WRITER_URL": "postgresql+asyncpg://app@127.0.0.1:5432/app", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "app", "reshard"], cwd=REPO, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "python -m app reshard" in result.stderr and "{plan,move}" in result.stderr


def test_reshard_without_the_shard_list_names_the_variable() -> None:
    env = {"APP_DB_WRITER_URL": "postgresql+asyncpg://app@127.0.0.1:5432/app", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "app", "reshard", "plan", "--add", "s1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1 and "APP_DB_SHARDS is not set" in result.stderr
