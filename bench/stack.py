"""Everything the benchmark talks to, started on 127.0.0.1 and stopped at the end: a throwaway
PostgreSQL database, a flushed Redis logical database, a local Kafka broker, and the app's
processes (API, relay, workers) as subprocesses of their own."""

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from app.dev.issuer import LocalIssuer
from app.dev.localbroker import LocalBroker, free_port

REPO = Path(__file__).resolve().parents[1]
ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))  # the app tests take 12 and 13, the load test 15
WORKERS = ["payment", "inventory", "notification", "fulfillment"]
CUSTOMERS = 100
"""The seeded customers cust-0001..cust-0100, each signed in with a token of its own."""
READY_SECONDS = 60.0
STOP_SECONDS = 20.0
TERMINAL = ("fulfilled", "payment_failed", "out_of_stock")


async def _admin(statement: str, dsn: str = ADMIN_DSN) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


class Stack:
    def __init__(self, workdir: Path, partitions: int, shards: int = 1) -> None:
        self.workdir = workdir
        self.partitions = partitions
        base = f"bench_{uuid.uuid4().hex[:10]}"
        # One database per shard, all on the local server; the first is home (and the only one
        # with shards=1, run exactly as before: no shard map).
        self.databases = [base] + [f"{base}_s{index}" for index in range(1, shards)]
        self.database = self.databases[0]
        self.dsn = f"postgresql://postgres@127.0.0.1:5432/{self.database}"
        self.dsns = [f"postgresql://postgres@127.0.0.1:5432/{name}" for name in self.databases]
        self.broker = LocalBroker()
        self.issuer = LocalIssuer()
        self.tokens = workdir / "tokens.txt"
        """Line n: customer n's access token (for wrk, which cannot sign them)."""
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.api_port = free_port()
        self.env: dict[str, str] = {}

    def start(self) -> None:
        self.broker.start()
        self.issuer.start()
        for name in self.databases:
            asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        self.env = os.environ | {
            "PYTHONPATH": str(REPO),
            "APP_DB_WRITER_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.database}",
            "APP_DB_SSL": "disable",
            "APP_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "APP_KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "APP_TOPIC_PARTITIONS": str(self.partitions),
            "APP_TOPIC_REPLICATION_FACTOR": "1",
            "APP_TOPIC_MIN_INSYNC_REPLICAS": "1",
            "APP_HOST": "127.0.0.1",
            "APP_LOG_LEVEL": "WARNING",
            "APP_AUTH_ISSUER": self.issuer.issuer,
            "APP_AUTH_CLIENT_ID": self.issuer.client_id,
            # The local stand-in for Cognito; a deployment never sets this.
            "APP_AUTH_LOCAL_DEV": "true",
        }
        if len(self.databases) > 1:
            self.env["APP_DB_SHARDS"] = json.dumps(
                [
                    {"name": f"s{index}", "writer_url": dsn.replace("postgresql://", "postgresql+asyncpg://")}
                    for index, dsn in enumerate(self.dsns)
                ]
            )
        for step in ("migrate", "topics"):
            subprocess.run([sys.executable, "-m", "app", step], env=self.env, check=True, timeout=120)
        # Stock for any run length: the benchmark measures the pipeline, not running out of stock.
        self.sql("UPDATE products SET stock = 1000000000")
        # Each seeded customer signs in as itself: its id is its token's subject.
        self.sql("UPDATE users SET subject = id WHERE subject IS NULL")
        self.tokens.write_text("".join(f"{self.issuer.mint(f'cust-{n:04d}')}\n" for n in range(1, CUSTOMERS + 1)))
        subprocess.run(["redis-cli", "-n", str(REDIS_DB), "flushdb"], check=True, capture_output=True)

    def sql(self, statement: str) -> None:
        """On every shard (same schema everywhere; the global tables matter on home only)."""
        for dsn in self.dsns:
            asyncio.run(_admin(statement, dsn))

    def fetch(self, query: str) -> list[asyncpg.Record]:
        """The rows of `query` from every shard, concatenated."""

        async def run(dsn: str) -> list[asyncpg.Record]:
            conn = await asyncpg.connect(dsn)
            try:
                return list(await conn.fetch(query))
            finally:
                await conn.close()

        return [row for dsn in self.dsns for row in asyncio.run(run(dsn))]

    def launch(self, name: str, process: str, **env: str) -> None:
        """Start `python -m app <process>` as `name`; waits for its /readyz."""
        self._wait(*self._spawn(name, process, **env))

    def _wait(self, url: str, name: str) -> None:
        _wait_ready(url, self.processes[name], name)

    def _spawn(self, name: str, process: str, **env: str) -> tuple[str, str]:
        port = self.api_port if process == "api" else free_port()
        extra = {f"APP_{key.upper()}": value for key, value in env.items()}
        log = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "app", process],
            env=self.env | extra | {"APP_PORT": str(port), "APP_METRICS_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return f"http://127.0.0.1:{port}/readyz", name

    def pipeline(self, replicas: int = 1, **env: str) -> None:
        """Start the relay and the workers up to `replicas` of each, all at once, then wait."""
        started = [
            self._spawn(f"{process}-{replica}", process, **env)
            for replica in range(1, replicas + 1)
            for process in ["relay", *WORKERS]
            if f"{process}-{replica}" not in self.processes
        ]
        for url, name in started:
            self._wait(url, name)

    def halt(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_SECONDS)

    def halt_all(self, prefix: str = "") -> None:
        for name in [n for n in self.processes if n.startswith(prefix)]:
            self.halt(name)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each app process, the broker and the database's backends."""
        used = {name: _cpu_seconds(process.pid) for name, process in self.processes.items()}
        broker = self.broker._node.process  # the JVM, started by LocalBroker
        if broker is not None:
            used["kafka"] = _cpu_seconds(broker.pid)
        names = ", ".join(f"'{name}'" for name in self.databases)
        backends = self.fetch(f"SELECT pid FROM pg_stat_activity WHERE datname IN ({names})")
        # pg_stat_activity is cluster-wide: every shard's query sees every backend once.
        backends = list({int(row["pid"]): row for row in backends}.values())
        used["postgres"] = sum(_cpu_seconds(int(row["pid"])) for row in backends)
        return used

    def close(self) -> None:
        self.halt_all()
        self.broker.close()
        self.issuer.close()
        for name in self.databases:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def counts(self) -> tuple[int, int]:
        """(orders, orders in a terminal status)."""
        terminal = ", ".join(f"'{status}'" for status in TERMINAL)
        rows = self.fetch(f"SELECT count(*) AS n, count(*) FILTER (WHERE status IN ({terminal})) AS done FROM orders")
        return sum(int(row["n"]) for row in rows), sum(int(row["done"]) for row in rows)

    def drain(self, timeout: float) -> bool:
        """Wait until every order is terminal; False if some are still moving at the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            total, done = self.counts()
            if total == done:
                return True
            time.sleep(0.5)
        return False


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (0 if it is gone): unlike latency, barely skewed by other
    load on the box, so it projects what an idle box would do."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_ready(url: str, process: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} before it was ready (see its log)")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{name} not ready at {url} after {READY_SECONDS}s")
