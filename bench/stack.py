"""Everything the benchmark talks to, started on 127.0.0.1 and stopped at the end: a throwaway
PostgreSQL database, a flushed Redis logical database, a local Kafka broker, and the app's
processes (API, relay, workers) as subprocesses of their own."""

import json
import os
import subprocess
import time
from pathlib import Path

import asyncpg

from app.dev.launcher import Database, Launcher, cpu_seconds, shared_redis

REPO = Path(__file__).resolve().parents[1]
ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))  # the app tests take 12 and 13, the load test 15
WORKERS = ["payment", "inventory", "notification", "fulfillment"]
CUSTOMERS = 100
"""The seeded customers cust-0001..cust-0100, each signed in with a token of its own."""
TERMINAL = ("fulfilled", "payment_failed", "out_of_stock")


class Stack:
    def __init__(self, workdir: Path, partitions: int, shards: int = 1) -> None:
        self.workdir = workdir
        self.partitions = partitions
        # One database per shard, all on the local server; the first is home (and the only one
        # with shards=1, run exactly as before: no shard map).
        self.db = Database.throwaway("bench", ADMIN_DSN)
        self.dbs = [self.db, *(Database.named(f"{self.db.name}_s{index}", ADMIN_DSN) for index in range(1, shards))]
        self.database = self.db.name
        self.dsn = self.db.dsn
        self.tokens = workdir / "tokens.txt"
        """Line n: customer n's access token (for wrk, which cannot sign them)."""
        self._launcher = Launcher(workdir)
        self.api_port = self._launcher.api_port

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return self._launcher.processes

    @property
    def env(self) -> dict[str, str]:
        return self._launcher.env

    def start(self) -> None:
        launcher = self._launcher
        for db in self.dbs:
            launcher.enter(db)
        settings = {
            "PYTHONPATH": str(REPO),
            "APP_REDIS_URL": shared_redis(REDIS_DB),
            "APP_LOG_LEVEL": "WARNING",
        }
        if len(self.dbs) > 1:
            shard_map = [{"name": f"s{index}", "writer_url": db.url} for index, db in enumerate(self.dbs)]
            settings["APP_DB_SHARDS"] = json.dumps(shard_map)
        launcher.start(self.db, partitions=self.partitions, settings=settings)
        self.broker, self.issuer = launcher.broker, launcher.issuer
        # Each seeded customer signs in as itself on every shard it has a row on.
        for db in self.dbs[1:]:
            db.execute("UPDATE users SET subject = id WHERE subject IS NULL")
        # Stock for any run length: the benchmark measures the pipeline, not running out of stock.
        self.sql("UPDATE products SET stock = 1000000000")
        self.tokens.write_text("".join(f"{self.issuer.mint(f'cust-{n:04d}')}\n" for n in range(1, CUSTOMERS + 1)))

    def sql(self, statement: str) -> None:
        """On every shard (same schema everywhere; the global tables matter on home only)."""
        for db in self.dbs:
            db.execute(statement)

    def fetch(self, query: str) -> list[asyncpg.Record]:
        """The rows of `query` from every shard, concatenated."""
        return [row for db in self.dbs for row in db.fetch(query)]

    def launch(self, name: str, process: str, **env: str) -> None:
        """Start `python -m app <process>` as `name`; waits for its /readyz."""
        self._launcher.launch(name, process, _settings(env))

    def pipeline(self, replicas: int = 1, **env: str) -> None:
        """Start the relay and the workers up to `replicas` of each, all at once, then wait."""
        started = [
            f"{process}-{replica}"
            for replica in range(1, replicas + 1)
            for process in ["relay", *WORKERS]
            if f"{process}-{replica}" not in self.processes
        ]
        for name in started:
            self._launcher.spawn(name, name.rpartition("-")[0], _settings(env))
        self._launcher.wait(*started)

    def halt(self, name: str) -> None:
        self._launcher.stop(name)

    def halt_all(self, prefix: str = "") -> None:
        self._launcher.stop_all(prefix)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each app process, the broker and the database's backends."""
        used = self._launcher.cpu()
        if len(self.dbs) > 1:
            names = ", ".join(f"'{db.name}'" for db in self.dbs)
            # pg_stat_activity is cluster-wide: asked once, it lists every shard's backends.
            backends = self.db.fetch(f"SELECT pid FROM pg_stat_activity WHERE datname IN ({names})")
            used["postgres"] = sum(cpu_seconds(int(row["pid"])) for row in backends)
        return used

    def close(self) -> None:
        self._launcher.close()

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


def _settings(env: dict[str, str]) -> dict[str, str]:
    """``cache_enabled="false"`` -> ``APP_CACHE_ENABLED=false``."""
    return {f"APP_{key.upper()}": value for key, value in env.items()}
