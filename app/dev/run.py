"""`python -m app.dev.run`: the whole pipeline on one machine, then one order end to end.

Starts a local Apache Kafka broker (app/dev/localbroker.py) and a local token issuer
(app/dev/issuer.py: a key pair and its JWKS on loopback, standing in for Cognito), creates a
throwaway database unless APP_DB_WRITER_URL is set, migrates, links the demo customer cust-0001
to the local subject "cust-0001", creates topics, starts the API, the relay and the four workers
as subprocesses, signs in, places an order and prints it moving to fulfilled. Everything is
stopped at the end; the exit code is 0 only if the order was fulfilled in time.

With --serve (what `make app` runs) it then keeps everything running and serves the
storefront at the printed URL until Ctrl-C. `pipeline()` is the same start-up for tests.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from app.dev.issuer import LocalIssuer
from app.dev.localbroker import LocalBroker, free_port

ADMIN_DSN = os.environ.get("DEVRUN_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
CUSTOMER = "cust-0001"
SERVICES = ["relay", "payment", "inventory", "notification", "fulfillment"]
STEP_TIMEOUT_SECONDS = 60.0
ORDER_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


def _wait_until(url: str, timeout: float = STEP_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_SECONDS)


async def _admin(statement: str, dsn: str = ADMIN_DSN) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def _database() -> Iterator[str]:
    if url := os.environ.get("APP_DB_WRITER_URL"):
        yield url
        return
    name = f"orders_dev_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _follow_order(api: str, issuer: LocalIssuer) -> bool:
    body = {"currency": "EUR", "items": [{"sku": "SKU-0001", "quantity": 2}]}
    signed_in = issuer.headers(CUSTOMER)
    created = httpx.post(f"{api}/api/orders", json=body, headers=signed_in | {"Idempotency-Key": uuid.uuid4().hex})
    created.raise_for_status()
    order_id = created.json()["id"]
    print(f"placed order {order_id}")
    last = ""
    deadline = time.monotonic() + ORDER_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        order = httpx.get(f"{api}/api/orders/{order_id}", headers=signed_in, timeout=5).json()
        if order["status"] != last:
            last = order["status"]
            print(f"  {last}")
        if last == "fulfilled":
            print("history: " + " -> ".join(change["status"] for change in order["history"]))
            return True
        time.sleep(0.2)
    print(f"order stuck at {last!r} after {ORDER_TIMEOUT_SECONDS}s", file=sys.stderr)
    return False


@dataclass(frozen=True)
class Pipeline:
    api: str
    """The API's base URL; it serves the storefront at / too."""
    writer_url: str
    processes: dict[str, "subprocess.Popen[bytes]"]
    """Each process by name (api, relay, the workers), for tests that stop one."""
    logs: Path
    issuer: LocalIssuer
    """The local token issuer the API trusts, for tests and the demo order to sign in with."""


@contextmanager
def pipeline(env: Mapping[str, str] | None = None) -> Iterator[Pipeline]:
    """The broker, a database, migrations, topics and every process, ready; all stopped after.

    ``env``: extra APP_* settings for every process (a test's own Redis database, say)."""
    logs = Path(tempfile.mkdtemp(prefix="app-devrun-"))
    with ExitStack() as stack:
        bootstrap = stack.enter_context(LocalBroker()).bootstrap
        issuer = stack.enter_context(LocalIssuer())
        writer = stack.enter_context(_database())
        api_port = free_port()
        env = os.environ | {
            "APP_DB_WRITER_URL": writer,
            "APP_DB_SSL": os.environ.get("APP_DB_SSL", "disable"),
            "APP_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "APP_TOPIC_PARTITIONS": "3",
            "APP_TOPIC_REPLICATION_FACTOR": "1",
            "APP_TOPIC_MIN_INSYNC_REPLICAS": "1",
            "APP_PAYMENT_FAILURE_RATE": "0",
            "APP_HOST": "127.0.0.1",
            "APP_PORT": str(api_port),
            "APP_AUTH_ISSUER": issuer.issuer,
            "APP_AUTH_CLIENT_ID": issuer.client_id,
            # Local mode: the issuer is on loopback, not a Cognito pool. Never set in a deployment.
            "APP_AUTH_LOCAL_DEV": "true",
            "APP_SERVE_WEB": "true",
            **(env or {}),
        }
        for step in ("migrate", "topics"):
            subprocess.run(
                [sys.executable, "-m", "app", step],
                env=env,
                check=True,
                timeout=STEP_TIMEOUT_SECONDS,
            )
        # The caller's env may name the database (a shard map's home shard, say): link there.
        writer = env["APP_DB_WRITER_URL"]
        link = f"UPDATE users SET subject = '{CUSTOMER}' WHERE id = '{CUSTOMER}' AND subject IS NULL"
        asyncio.run(_admin(link, writer.replace("+asyncpg", "")))
        probes: list[str] = []
        processes: dict[str, subprocess.Popen[bytes]] = {}
        for name in ["api", *SERVICES]:
            port = api_port if name == "api" else free_port()
            log = stack.enter_context((logs / f"{name}.log").open("wb"))
            process = subprocess.Popen(
                [sys.executable, "-m", "app", name],
                env=env | {"APP_METRICS_PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(_stop, process)
            processes[name] = process
            probes.append(f"http://127.0.0.1:{port}/readyz")
        print(f"started api on 127.0.0.1:{api_port} and {', '.join(SERVICES)}; logs in {logs}")
        for probe in probes:
            _wait_until(probe)
        yield Pipeline(
            api=f"http://127.0.0.1:{api_port}", writer_url=writer, processes=processes, logs=logs, issuer=issuer
        )
        print("stopping")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.dev.run", description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="then keep serving the storefront until Ctrl-C")
    args = parser.parse_args(argv)
    with pipeline() as running:
        ok = _follow_order(running.api, running.issuer)
        if ok and args.serve:
            print(f"storefront: {running.api}/  (Ctrl-C to stop)", flush=True)
            try:
                while all(p.poll() is None for p in running.processes.values()):
                    time.sleep(1)
                print("a process exited; see its log", file=sys.stderr)
                ok = False
            except KeyboardInterrupt:
                pass
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
