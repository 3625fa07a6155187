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
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import httpx

from app.dev.issuer import LocalIssuer
from app.dev.launcher import Database, Launcher

ADMIN_DSN = os.environ.get("DEVRUN_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
CUSTOMER = "cust-0001"
SERVICES = ["relay", "payment", "inventory", "notification", "fulfillment"]
ORDER_TIMEOUT_SECONDS = 60.0


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
    processes: dict[str, "Popen[bytes]"]
    """Each process by name (api, relay, the workers), for tests that stop one."""
    logs: Path
    issuer: LocalIssuer
    """The local token issuer the API trusts, for tests and the demo order to sign in with."""


def _database(launcher: Launcher, env: Mapping[str, str]) -> Database:
    """APP_DB_WRITER_URL's database when the caller's env or the environment sets it (kept: a
    shard map's home shard, say), else a throwaway one (dropped after)."""
    if url := env.get("APP_DB_WRITER_URL") or os.environ.get("APP_DB_WRITER_URL"):
        return Database(url)
    return launcher.enter(Database.throwaway("orders_dev", ADMIN_DSN))


@contextmanager
def pipeline(env: Mapping[str, str] | None = None) -> Iterator[Pipeline]:
    """The broker, a database, migrations, topics and every process, ready; all stopped after.

    ``env``: extra settings for every process and setup step (a test's own Redis database, say);
    they override the defaults here."""
    logs = Path(tempfile.mkdtemp(prefix="app-devrun-"))
    with Launcher(logs) as launcher:
        database = _database(launcher, env or {})
        settings = {
            "APP_DB_SSL": os.environ.get("APP_DB_SSL", "disable"),
            "APP_PAYMENT_FAILURE_RATE": "0",
            "APP_SERVE_WEB": "true",
            **(env or {}),
        }
        launcher.start(database, partitions=3, settings=settings, subjects=[CUSTOMER])
        for name in ["api", *SERVICES]:
            launcher.spawn(name, name)
        print(f"started api on 127.0.0.1:{launcher.api_port} and {', '.join(SERVICES)}; logs in {logs}")
        launcher.wait(*launcher.processes)
        yield Pipeline(
            api=launcher.api,
            writer_url=database.url,
            processes=launcher.processes,
            logs=logs,
            issuer=launcher.issuer,
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
