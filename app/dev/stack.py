"""The whole pipeline on loopback, with every dependency its own: for `make chaos`.

PostgreSQL (a server of its own plus a streaming replica, app/dev/localpg.py), Redis (a
`redis-server` of its own on a free port), Kafka (app/dev/localbroker.py), then the API, the
relay and the four workers as `python -m app <name>` subprocesses. Nothing shared with other
users of the machine is stopped or restarted. Development only.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
from pathlib import Path

from app.dev.issuer import LocalIssuer
from app.dev.launcher import READY_TIMEOUT_SECONDS, Database, Launcher, LocalRedis, wait_ready
from app.dev.localbroker import LocalBroker
from app.dev.localpg import LocalPostgres

__all__ = ["WORKERS", "LocalRedis", "Stack"]

WORKERS = ["payment", "inventory", "notification", "fulfillment"]
CUSTOMER = "cust-0001"
"""The seeded customer the load orders as; its id is its token's subject."""


class Stack:
    """Everything started in `__enter__`, everything stopped (and removed) in `__exit__`."""

    def __init__(self, *, workers_per_kind: int = 1) -> None:
        self.workers_per_kind = workers_per_kind
        self.logs = Path(tempfile.mkdtemp(prefix="app-chaos-"))
        self._launcher = Launcher(self.logs)
        self.api_port = self._launcher.api_port
        self.processes: dict[str, subprocess.Popen[bytes]] = self._launcher.processes
        """Each running process by name (kind-N)."""
        self._serial = 0

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self._launcher.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._launcher.close()

    def _start(self) -> None:
        launcher = self._launcher
        self.pg = launcher.enter(LocalPostgres())
        # Never dropped: the whole server goes at the end.
        database = Database.named("orders", self.pg.admin_dsn)
        database.create()
        self.replica = self.pg.replica()
        launcher.callback(self.replica.close)
        self.redis = LocalRedis()
        self.redis.start()
        launcher.callback(self.redis.stop)
        settings = {
            "APP_DB_READER_URLS": self.replica.url("orders"),
            "APP_REDIS_URL": self.redis.url,
            "APP_PAYMENT_FAILURE_RATE": "0",
            "APP_PAYMENT_LATENCY_MS": "5",
            "APP_RELAY_DELIVERY_TIMEOUT_MS": "5000",
            "APP_LOG_LEVEL": "WARNING",
        }
        launcher.start(database, partitions=6, settings=settings, subjects=[CUSTOMER])
        self.broker: LocalBroker = launcher.broker
        self.issuer: LocalIssuer = launcher.issuer
        self.env: dict[str, str] = launcher.env
        self.start("api")
        self.start("relay")
        for kind in WORKERS:
            for _ in range(self.workers_per_kind):
                self.start(kind)
        self.wait_ready()

    @property
    def api(self) -> str:
        return self._launcher.api

    def auth_headers(self) -> dict[str, str]:
        """A fresh access token for cust-0001, the customer the load orders as."""
        return self.issuer.headers(CUSTOMER)

    def start(self, kind: str) -> str:
        """Start one process of `kind`; returns its name (kind-N)."""
        self._serial += 1
        name = f"{kind}-{self._serial}"
        self._launcher.spawn(name, kind)
        return name

    def names(self, kind: str) -> list[str]:
        return self._launcher.names(kind)

    def signal(self, name: str, signum: signal.Signals) -> None:
        self._launcher.signal(name, signum)

    def stop(self, name: str) -> None:
        self._launcher.stop(name)

    def wait_ready(self) -> None:
        """Until the API answers /readyz."""
        try:
            wait_ready(f"{self.api}/readyz", name="the API", timeout=READY_TIMEOUT_SECONDS)
        except TimeoutError as err:
            raise TimeoutError(f"{err}; logs in {self.logs}") from err
