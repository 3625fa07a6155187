"""What every local run of the pipeline shares: `python -m app.dev.run`, the chaos stack
(app/dev/stack.py) and the benchmark (bench/stack.py).

A PostgreSQL database, a Redis (a server of its own, or a flushed logical database of the shared
one), a Kafka broker (app/dev/localbroker.py), the local token issuer (app/dev/issuer.py), the
setup steps, and the app's processes as named `python -m app <kind>` subprocesses that all get
one environment: readiness waits, stop, kill, signals and CPU seconds per process. Development
only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg
import httpx

from app.dev.issuer import LocalIssuer
from app.dev.localbroker import LocalBroker, free_port, wait_for_port

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SETUP_STEPS = ("migrate", "topics")
"""`migrate` creates the schema and seeds the catalogue and the demo customers; `topics` the topics."""
STEP_TIMEOUT_SECONDS = 120.0
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 25.0
"""How long a process may drain after SIGTERM before it is killed."""

T = TypeVar("T")


class Database:
    """One PostgreSQL database, by its SQLAlchemy URL; as a context manager, created and dropped."""

    def __init__(self, url: str) -> None:
        self.url = url
        """What the app's ``APP_DB_WRITER_URL`` takes (``postgresql+asyncpg://...``)."""
        self.dsn = url.replace("+asyncpg", "")
        """The same database for asyncpg, psql and pgbench."""
        parts = urlsplit(self.dsn)
        self.name = parts.path.lstrip("/")
        self.admin_dsn = parts._replace(path="/postgres", query="").geturl()

    @classmethod
    def named(cls, name: str, admin_dsn: str = ADMIN_DSN) -> Database:
        """Database ``name`` on the server ``admin_dsn`` reaches."""
        server = urlsplit(admin_dsn)._replace(scheme="postgresql+asyncpg", path=f"/{name}", query="")
        return cls(server.geturl())

    @classmethod
    def throwaway(cls, prefix: str, admin_dsn: str = ADMIN_DSN) -> Database:
        """A name no other run uses, so runs side by side never share rows."""
        return cls.named(f"{prefix}_{uuid.uuid4().hex[:10]}", admin_dsn)

    def create(self) -> None:
        _run(_execute(self.admin_dsn, f'CREATE DATABASE "{self.name}"'))

    def drop(self) -> None:
        _run(_execute(self.admin_dsn, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    def execute(self, statement: str, *args: object) -> None:
        _run(_execute(self.dsn, statement, *args))

    def fetch(self, query: str) -> list[asyncpg.Record]:
        return _run(_fetch(self.dsn, query))

    def __enter__(self) -> Database:
        self.create()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def _execute(dsn: str, statement: str, *args: object) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


async def _fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


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


def shared_redis(db: int) -> str:
    """Logical database ``db`` of the machine's Redis, flushed; its URL."""
    subprocess.run(["redis-cli", "-n", str(db), "flushdb"], check=True, capture_output=True)
    return f"redis://127.0.0.1:6379/{db}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (0 if it is gone): unlike latency, barely skewed by other
    load on the box, so it projects what an idle box would do."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(
    url: str, *, name: str, process: subprocess.Popen[bytes] | None = None, timeout: float = READY_TIMEOUT_SECONDS
) -> None:
    """Until ``url`` answers 200; fails early if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} before it was ready (see its log)")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{name} not ready at {url} after {timeout}s")


class Launcher:
    """The broker, the issuer and the app's processes of one local run; everything it started is
    stopped by close(): the processes first, then what was entered, in reverse."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        """One ``<name>.log`` per process (stdout and stderr), appended to across restarts."""
        self.api_port = free_port()
        self.env: dict[str, str] = dict(os.environ)
        """What every process and setup step gets; set by start()."""
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        """Each running process by name."""
        self._probes: dict[str, str] = {}
        self._exit = ExitStack()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def enter(self, resource: AbstractContextManager[T]) -> T:
        """Enter ``resource`` now, exit it at close() (after the processes have stopped)."""
        return self._exit.enter_context(resource)

    def callback(self, close: Any) -> None:
        self._exit.callback(close)

    def start(
        self,
        database: Database,
        *,
        partitions: int,
        settings: Mapping[str, str] | None = None,
        subjects: Iterable[str] | None = None,
    ) -> None:
        """The broker and the issuer, the environment, the setup steps, then the seeded customers
        ``subjects`` (all, with None) linked to their own id as their token's subject.

        ``settings`` (APP_* and anything else) come last, so they override the defaults here and
        reach every setup step and every process."""
        self.database = database
        self.broker = self.enter(LocalBroker())
        self.issuer = self.enter(LocalIssuer())
        self.env = os.environ | {
            "APP_DB_WRITER_URL": database.url,
            "APP_DB_SSL": "disable",
            "APP_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "APP_TOPIC_PARTITIONS": str(partitions),
            "APP_TOPIC_REPLICATION_FACTOR": "1",
            "APP_TOPIC_MIN_INSYNC_REPLICAS": "1",
            "APP_HOST": "127.0.0.1",
            "APP_PORT": str(self.api_port),
            "APP_AUTH_ISSUER": self.issuer.issuer,
            "APP_AUTH_CLIENT_ID": self.issuer.client_id,
            # The local stand-in for Cognito, on loopback; a deployment never sets this.
            "APP_AUTH_LOCAL_DEV": "true",
            **(settings or {}),
        }
        for step in SETUP_STEPS:
            subprocess.run([sys.executable, "-m", "app", step], env=self.env, check=True, timeout=STEP_TIMEOUT_SECONDS)
        link = "UPDATE users SET subject = id WHERE subject IS NULL"
        if subjects is None:
            database.execute(link)
        else:
            database.execute(f"{link} AND id = ANY($1::text[])", list(subjects))

    def spawn(self, name: str, kind: str, settings: Mapping[str, str] | None = None) -> None:
        """Start `python -m app <kind>` as ``name``, with the run's environment plus ``settings``."""
        port = self.api_port if kind == "api" else free_port()
        with (self.logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "app", kind],
                env=self.env | dict(settings or {}) | {"APP_METRICS_PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._probes[name] = f"http://127.0.0.1:{port}/readyz"

    def wait(self, *names: str) -> None:
        """Until each of ``names`` answers /readyz; fails early for one that exits instead."""
        for name in names:
            wait_ready(self._probes[name], name=name, process=self.processes[name])

    def launch(self, name: str, kind: str, settings: Mapping[str, str] | None = None) -> None:
        """spawn(), then wait() for it."""
        self.spawn(name, kind, settings)
        self.wait(name)

    def names(self, kind: str) -> list[str]:
        """The running processes named ``<kind>-<n>``."""
        return [name for name in self.processes if name.rpartition("-")[0] == kind]

    def signal(self, name: str, signum: signal.Signals) -> None:
        """Send ``signum`` and wait for the process to exit; it is no longer one of the run's."""
        process = self.processes.pop(name)
        process.send_signal(signum)
        process.wait(STOP_TIMEOUT_SECONDS)

    def kill(self, name: str) -> None:
        self.signal(name, signal.SIGKILL)

    def stop(self, name: str) -> None:
        """SIGTERM, and SIGKILL if it has not drained within STOP_TIMEOUT_SECONDS."""
        process = self.processes.pop(name)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_SECONDS)

    def stop_all(self, prefix: str = "") -> None:
        """Stop every process whose name starts with ``prefix``, in the order they started."""
        for name in [name for name in self.processes if name.startswith(prefix)]:
            self.stop(name)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each process, the broker (``kafka``) and the database's backends
        (``postgres``)."""
        used = {name: cpu_seconds(process.pid) for name, process in self.processes.items()}
        if (broker := self.broker.pid) is not None:
            used["kafka"] = cpu_seconds(broker)
        backends = self.database.fetch(f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.database.name}'")
        used["postgres"] = sum(cpu_seconds(int(row["pid"])) for row in backends)
        return used

    def close(self) -> None:
        try:
            self.stop_all()
        finally:
            self._exit.close()

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
