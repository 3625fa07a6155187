"""The whole pipeline on loopback, with every dependency its own: for `make chaos`.

PostgreSQL (a server of its own plus a streaming replica, app/dev/localpg.py), Redis (a
`redis-server` of its own on a free port), Kafka (app/dev/localbroker.py), then the API, the
relay and the four workers as `python -m app <name>` subprocesses. Nothing shared with other
users of the machine is stopped or restarted. Development only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import asyncpg
import httpx

from app.dev.issuer import LocalIssuer
from app.dev.localbroker import LocalBroker, free_port, wait_for_port
from app.dev.localpg import LocalPostgres

WORKERS = ["payment", "inventory", "notification", "fulfillment"]
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 25.0


class LocalRedis:
    """`redis-server` on a free port, no persistence; stop() and start() keep the port."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server not found: install Debian's redis-server package (scripts/services.sh)")
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, READY_TIMEOUT_SECONDS)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(STOP_TIMEOUT_SECONDS)


class Stack:
    """Everything started in `__enter__`, everything stopped (and removed) in `__exit__`."""

    def __init__(self, *, workers_per_kind: int = 1) -> None:
        self.workers_per_kind = workers_per_kind
        self.logs = Path(tempfile.mkdtemp(prefix="app-chaos-"))
        self._exit = ExitStack()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._serial = 0

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for name in list(self.processes):
            self.stop(name)
        self._exit.close()

    def _start(self) -> None:
        self.pg = self._exit.enter_context(LocalPostgres())
        asyncio.run(self._admin("CREATE DATABASE orders"))
        self.replica = self.pg.replica()
        self._exit.callback(self.replica.close)
        self.redis = LocalRedis()
        self.redis.start()
        self._exit.callback(self.redis.stop)
        self.broker = self._exit.enter_context(LocalBroker())
        self.issuer = self._exit.enter_context(LocalIssuer())
        self.api_port = free_port()
        self.env = os.environ | {
            "APP_DB_WRITER_URL": self.pg.url("orders"),
            "APP_DB_READER_URLS": self.replica.url("orders"),
            "APP_DB_SSL": "disable",
            "APP_REDIS_URL": self.redis.url,
            "APP_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "APP_TOPIC_PARTITIONS": "6",
            "APP_TOPIC_REPLICATION_FACTOR": "1",
            "APP_TOPIC_MIN_INSYNC_REPLICAS": "1",
            "APP_PAYMENT_FAILURE_RATE": "0",
            "APP_PAYMENT_LATENCY_MS": "5",
            "APP_RELAY_DELIVERY_TIMEOUT_MS": "5000",
            "APP_HOST": "127.0.0.1",
            "APP_PORT": str(self.api_port),
            "APP_LOG_LEVEL": "WARNING",
            "APP_AUTH_ISSUER": self.issuer.issuer,
            "APP_AUTH_CLIENT_ID": self.issuer.client_id,
            # The local stand-in for Cognito; a deployment never sets this.
            "APP_AUTH_LOCAL_DEV": "true",
        }
        for step in ("migrate", "topics"):
            subprocess.run([sys.executable, "-m", "app", step], env=self.env, check=True, timeout=120)
        # The load signs in as the seeded customer cust-0001: its id is its token's subject.
        asyncio.run(self._admin("UPDATE users SET subject = id WHERE id = 'cust-0001'", database="orders"))
        self.start("api")
        self.start("relay")
        for kind in WORKERS:
            for _ in range(self.workers_per_kind):
                self.start(kind)
        self.wait_ready()

    def auth_headers(self) -> dict[str, str]:
        """A fresh access token for cust-0001, the customer the load orders as."""
        return self.issuer.headers("cust-0001")

    async def _admin(self, statement: str, database: str | None = None) -> None:
        dsn = self.pg.url(database).replace("+asyncpg", "") if database else self.pg.admin_dsn
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, kind: str) -> str:
        """Start one process of `kind`; returns its name (kind-N)."""
        self._serial += 1
        name = f"{kind}-{self._serial}"
        port = self.api_port if kind == "api" else free_port()
        log = (self.logs / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "app", kind],
            env=self.env | {"APP_METRICS_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return name

    def names(self, kind: str) -> list[str]:
        return [name for name in self.processes if name.rpartition("-")[0] == kind]

    def signal(self, name: str, signum: signal.Signals) -> None:
        process = self.processes.pop(name)
        process.send_signal(signum)
        process.wait(STOP_TIMEOUT_SECONDS)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_SECONDS)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the API was not ready after {READY_TIMEOUT_SECONDS}s; logs in {self.logs}")
