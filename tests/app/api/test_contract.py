"""The OpenAPI tells the truth: schemathesis, all checks, against the real API (a uvicorn process
on loopback) and the real database, signed in, stateful links included."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core.settings import Settings
from app.dev.localbroker import free_port
from tests.app.helpers import CUSTOMER, local_issuer

REPO = Path(__file__).resolve().parents[3]
SEED = 20261201
MAX_EXAMPLES = 30
RUN_TIMEOUT_SECONDS = 600


@pytest.fixture
def api_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")} | {
        "APP_DB_WRITER_URL": settings.db_writer_url,
        "APP_DB_SSL": "disable",
        "APP_REDIS_URL": settings.redis_url,
        "APP_HOST": "127.0.0.1",
        "APP_PORT": str(port),
        "APP_LOG_LEVEL": "WARNING",
        "APP_AUTH_ISSUER": local_issuer().issuer,
        "APP_AUTH_CLIENT_ID": local_issuer().client_id,
        "APP_AUTH_LOCAL_DEV": "true",
    }
    log = (tmp_path / "api.log").open("wb")
    api = subprocess.Popen([sys.executable, "-m", "app", "api"], cwd=REPO, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert api.poll() is None and time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.2)
        yield url
    finally:
        api.terminate()
        api.wait(20)
        log.close()


def test_schemathesis_finds_no_failures_and_no_server_errors(api_url: str, tmp_path: Path) -> None:
    report = tmp_path / "report.ndjson"
    # Through the OpenAPI security scheme, not a blanket header: schemathesis then also sends
    # requests without it and expects the 401.
    config = tmp_path / "schemathesis.toml"
    config.write_text('[auth.openapi.HTTPBearer]\nbearer = "${CONTRACT_TEST_TOKEN}"\n')
    command = [
        str(Path(sys.executable).parent / "st"),
        f"--config-file={config}",
        "run",
        f"{api_url}/openapi.json",
        "--checks=all",
        f"--max-examples={MAX_EXAMPLES}",
        f"--seed={SEED}",
        "--generation-deterministic",
        "--workers=1",
        "--request-timeout=10",
        "--report=ndjson",
        f"--report-ndjson-path={report}",
        "--no-color",
    ]
    env = os.environ | {
        "SCHEMATHESIS_HOOKS": "tests.app.api.schemathesis_hooks",
        "PYTHONPATH": str(REPO),
        "CONTRACT_TEST_TOKEN": local_issuer().mint(CUSTOMER),
    }
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS)
    print(result.stdout[-1500:])  # the summary (cases generated, phases), shown with pytest -s
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    events = [json.loads(line) for line in report.read_text().splitlines()]
    phases = {name for event in events for name in _phase_names(event)}
    assert "stateful" in {p.lower() for p in phases}, f"the stateful phase did not run: {phases}"


def _phase_names(event: dict[str, object]) -> list[str]:
    found = []
    for value in event.values():
        if isinstance(value, dict) and isinstance(value.get("phase"), dict):
            name = value["phase"].get("name")
            if isinstance(name, str):
                found.append(name)
    return found
