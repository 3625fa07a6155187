"""A throwaway PostgreSQL server of its own, for fault tests that restart or stop the database.

The shared server on :5432 serves every test run on the machine; restarting it would fail other
people's tests. `LocalPostgres` runs `initdb` into a temporary directory (as the `postgres` OS
user when started as root, since PostgreSQL refuses to run as root), listens on a free loopback
port with trust auth, and can be restarted, stopped or killed while its data stays on disk.
`replica()` makes a streaming standby of it with `pg_basebackup -R`.

Development only: the container image never imports this module.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from app.dev.localbroker import free_port, wait_for_port

STARTUP_TIMEOUT_SECONDS = 30.0


class PostgresUnavailable(RuntimeError):
    """The server could not be initialised or started: the message names the missing tool or its log."""


def _bindir() -> Path:
    if found := os.environ.get("PG_BINDIR"):
        return Path(found)
    if on_path := shutil.which("initdb"):
        # Debian links only a few tools onto PATH; the real directory has pg_basebackup and pg_isready.
        return Path(on_path).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        raise PostgresUnavailable("initdb not found: install Debian's postgresql package (scripts/services.sh)")
    return Path(candidates[0]).parent


class LocalPostgres:
    """One PostgreSQL server on 127.0.0.1:`port`, data in a temporary directory removed by close()."""

    def __init__(self, *, port: int | None = None, _standby_of: LocalPostgres | None = None) -> None:
        self.bindir = _bindir()
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="localpg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self._standby_of = _standby_of
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL the app uses for `database` on this server."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            log = self.logfile.read_text()[-2000:] if self.logfile.exists() else ""
            raise PostgresUnavailable(f"{' '.join(args[:2])} failed: {result.stderr.strip()}\n{log}")
        return result

    def start(self) -> LocalPostgres:
        if not self.data.exists():
            if self._standby_of is None:
                self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
                with (self.data / "postgresql.conf").open("a") as conf:
                    # Enough for a streaming replica; fsync off keeps a 2-core box usable; room for
                    # the scale-out stack's 14 processes at their full pools (20 + 10 overflow each).
                    conf.write(
                        "wal_level = replica\nmax_wal_senders = 4\nfsync = off\nsynchronous_commit = off\n"
                        "max_connections = 500\n"
                    )
                with (self.data / "pg_hba.conf").open("a") as hba:
                    hba.write("host replication all 127.0.0.1/32 trust\n")
            else:
                source = self._standby_of
                self._run(
                    "pg_basebackup", "-D", str(self.data), "-h", "127.0.0.1", "-p", str(source.port),
                    "-U", "postgres", "-R", "-X", "stream",
                )  # fmt: skip
        self._pg_ctl("start")
        wait_for_port(self.port, STARTUP_TIMEOUT_SECONDS)
        self._wait_accepting()
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", action, "-D", str(self.data), "-l", str(self.logfile), "-o", options, "-w", "-t", "60", *extra
        )

    def _wait_accepting(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            ready = self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False)
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise PostgresUnavailable(f"PostgreSQL on :{self.port} not accepting after {STARTUP_TIMEOUT_SECONDS}s")

    def restart(self, mode: str = "fast") -> None:
        """`pg_ctl restart -m fast`: every session is terminated, in-flight statements fail."""
        self._pg_ctl("restart", "-m", mode)
        self._wait_accepting()

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", mode)

    def replica(self) -> LocalPostgres:
        """A streaming standby of this server (`pg_basebackup -R`), started."""
        return LocalPostgres(_standby_of=self).start()

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
