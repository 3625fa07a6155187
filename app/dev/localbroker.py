"""Apache Kafka on this machine, in KRaft mode, for `make app`, `make bench` and the tests.

The broker is the real one: the `kafka_2.13` jars from Maven Central, assembled by
`scripts/services.sh` into `.cache/kafka/lib` (see `tools/kafka/pom.xml`). `LocalBroker` is one
node that is both controller and broker; `LocalCluster` is one controller and N brokers, so a
broker can be killed while the quorum lives on. Data lives on disk in a directory of the caller's
choosing, so a broker killed with -9 and started again keeps every acknowledged message.
`LocalCluster` lives in app/dev/localcluster.py.

Development only: the container image never imports this module.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

REPO = Path(__file__).resolve().parents[2]
KAFKA_LIB = Path(os.environ.get("KAFKA_LIB", REPO / ".cache" / "kafka" / "lib"))
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
HEAP = os.environ.get("KAFKA_HEAP", "384m")

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {logs}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = file
"""

# What every local node shares. Internal topics have one replica unless a cluster says more;
# topics are never auto-created, as in the stack's MSK configuration: `python -m app topics` owns them.
BASE_PROPERTIES = {
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "auto.create.topics.enable": "false",
    "num.partitions": "1",
    "offsets.topic.num.partitions": "10",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    # Tests start consumers right away; the default 3 s wait for more members only slows them.
    "group.initial.rebalance.delay.ms": "0",
    "log.retention.check.interval.ms": "60000",
    # A broker killed with -9 cannot re-register until its old session expires (9 s by default,
    # as on MSK); locally 3 s keeps restarts quick. Recovery times measured here are that much shorter.
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
}


class BrokerUnavailable(RuntimeError):
    """The broker could not be started: the message says what is missing or what it logged."""


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, never one this process was given before: the kernel
    can hand a just-released port out again, and two servers of one run told the same port made
    the API's port answer with the token issuer's 404s."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_for_port(
    port: int, timeout: float = STARTUP_TIMEOUT_SECONDS, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BrokerUnavailable(
                f"the Kafka process exited with code {process.returncode} before listening on {port}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _classpath() -> str:
    jars = sorted(KAFKA_LIB.glob("*.jar"))
    if not any(jar.name.startswith("kafka_2.13-") for jar in jars):
        raise BrokerUnavailable(
            f"Kafka's jars are not in {KAFKA_LIB}: run `make services` (scripts/services.sh assembles them from Maven Central)"
        )
    if shutil.which("java") is None:
        raise BrokerUnavailable("no `java` on PATH: install Debian's openjdk-17-jre-headless (Kafka 4 needs Java 17+)")
    return os.pathsep.join(str(jar) for jar in jars)


def _write_properties(path: Path, properties: Mapping[str, str]) -> None:
    path.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))


class Node:
    """One Kafka process: its properties file, its log directory and its JVM."""

    def __init__(self, directory: Path, properties: dict[str, str], wait_port: int) -> None:
        self.directory = directory
        self.properties = properties
        self.wait_port = wait_port
        self.process: subprocess.Popen[bytes] | None = None
        self.config = directory / "server.properties"
        self.logs = directory / "logs"

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            "java",
            f"-Xms{HEAP}",
            f"-Xmx{HEAP}",
            "-XX:+UseG1GC",
            "-XX:TieredStopAtLevel=1",  # faster start-up; a local broker never runs long enough for C2 to pay
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.directory / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.logs}",
            "-cp",
            _classpath(),
            main,
            *args,
        ]

    def format(self, cluster_id: str, *, standalone: bool) -> None:
        """Write the properties and format the log directory once; a formatted node keeps its data."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        (self.directory / "log4j2.properties").write_text(
            LOG4J2.format(logs=self.logs, level=os.environ.get("KAFKA_LOG_LEVEL", "WARN"))
        )
        _write_properties(self.config, self.properties)
        if (Path(self.properties["log.dirs"]) / "meta.properties").exists():
            return
        args = ["format", "-t", cluster_id, "-c", str(self.config)]
        if standalone:
            args.append("--standalone")
        result = subprocess.run(
            self._java("kafka.tools.StorageTool", *args), capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            raise BrokerUnavailable(f"kafka-storage format failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        out = (self.logs / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            self._java("kafka.Kafka", str(self.config)), stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        try:
            wait_for_port(self.wait_port, process=self.process)
        except (TimeoutError, BrokerUnavailable) as error:
            raise BrokerUnavailable(f"{error}; see {self.logs / 'server.log'}") from None

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as a rolling restart would do."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(STOP_TIMEOUT_SECONDS)
            self.process = None

    def kill(self) -> None:
        """SIGKILL: the crash a broker can suffer; what it acknowledged is on disk (fsync'd or replicated)."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT_SECONDS)
            self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Managed(ABC):
    """Shared plumbing: a data directory of our own (removed at the end) or the caller's (kept),
    and `with` starting the nodes and closing them."""

    def __init__(self, data_dir: str | Path | None) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="kafka-"))
        self.cluster_id = self._cluster_id()

    def _cluster_id(self) -> str:
        """Stable across restarts of the same data directory (the format step wrote it)."""
        stamp = self.data_dir / "cluster.id"
        if stamp.exists():
            return stamp.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding, as `random-uuid` prints.
        # One starting with "-" would read as an option to the storage tool's argument parser.
        cluster_id = "-"
        while cluster_id.startswith("-"):
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        stamp.write_text(cluster_id)
        return cluster_id

    def _cleanup(self) -> None:
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Stop every node and remove a data directory of our own."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class LocalBroker(Managed):
    """One node, controller and broker in one process, on free loopback ports.

    `listeners` adds listeners beside PLAINTEXT, e.g. {"SSL": (port, "SSL")} with the matching
    `ssl.*` entries in `properties`.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        data_dir: str | Path | None = None,
        properties: Mapping[str, str] | None = None,
        listeners: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        super().__init__(data_dir)
        self.port = port or free_port()
        self.controller_port = free_port()
        extra = dict(listeners or {})
        names = {"PLAINTEXT": (self.port, "PLAINTEXT"), **extra}
        listener_list = ",".join(f"{name}://127.0.0.1:{port}" for name, (port, _) in names.items())
        protocol_map = ",".join(f"{name}:{protocol}" for name, (_, protocol) in names.items())
        self.listener_ports = {name: port for name, (port, _) in names.items()}
        self._node = Node(
            self.data_dir / "node-1",
            {
                **BASE_PROPERTIES,
                "process.roles": "broker,controller",
                "node.id": "1",
                "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
                "listeners": f"{listener_list},CONTROLLER://127.0.0.1:{self.controller_port}",
                "advertised.listeners": listener_list,
                "listener.security.protocol.map": f"{protocol_map},CONTROLLER:PLAINTEXT",
                "log.dirs": str(self.data_dir / "node-1" / "data"),
                **(properties or {}),
            },
            wait_port=self.port,
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._node.running

    @property
    def pid(self) -> int | None:
        return self._node.process.pid if self._node.process else None

    def start(self) -> None:
        self._node.format(self.cluster_id, standalone=True)
        self._node.start()

    def stop(self) -> None:
        self._node.stop()

    def kill(self) -> None:
        self._node.kill()

    def restart(self, *, hard: bool = False) -> None:
        """Stop (or kill -9 with `hard`) and start again on the same ports and data."""
        if hard:
            self.kill()
        else:
            self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self._cleanup()


def main(argv: list[str]) -> int:
    """`python -m app.dev.localbroker serve --port 9092 --data-dir DIR [--daemon]`."""
    parser = argparse.ArgumentParser(prog="python -m app.dev.localbroker")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run one local broker until interrupted")
    serve.add_argument("--port", type=int, default=9092)
    serve.add_argument("--data-dir", required=True, help="kept between runs: the broker's topics live there")
    serve.add_argument("--daemon", action="store_true", help="start it in the background and return")
    args = parser.parse_args(argv)
    if args.daemon:
        log = Path(args.data_dir)
        log.mkdir(parents=True, exist_ok=True)
        with (log / "serve.log").open("ab") as out:
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app.dev.localbroker",
                    "serve",
                    "--port",
                    str(args.port),
                    "--data-dir",
                    args.data_dir,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=REPO,
            )
        wait_for_port(args.port)
        print(f"Kafka listening on 127.0.0.1:{args.port} (data in {args.data_dir})")
        return 0
    broker = LocalBroker(port=args.port, data_dir=args.data_dir)
    broker.start()
    print(f"Kafka listening on {broker.bootstrap}; Ctrl-C stops it", flush=True)
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stopping and broker.running:
        time.sleep(0.5)
    broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
