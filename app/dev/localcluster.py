"""Several local Kafka brokers behind one KRaft controller, with the stack's replication settings:
what replication does for producers when brokers go away (app/dev/localbroker.py runs the nodes).

Development only: the container image never imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from app.dev.localbroker import BASE_PROPERTIES, Managed, Node, free_port


class LocalCluster(Managed):
    """One KRaft controller and `brokers` brokers, with the stack's replication settings.

    The controller runs alone, so stopping brokers never costs the metadata quorum: what the
    tests look at is what replication does for producers when brokers go away.
    """

    def __init__(
        self,
        brokers: int = 3,
        *,
        replication_factor: int = 3,
        min_insync_replicas: int = 2,
        data_dir: str | Path | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(data_dir)
        self.controller_port = free_port()
        quorum = f"127.0.0.1:{self.controller_port}"
        self._controller = Node(
            self.data_dir / "controller",
            {
                **BASE_PROPERTIES,
                "process.roles": "controller",
                "node.id": "100",
                "controller.quorum.bootstrap.servers": quorum,
                "listeners": f"CONTROLLER://127.0.0.1:{self.controller_port}",
                # Kafka validates inter.broker.listener.name (PLAINTEXT) against this map even
                # on a controller-only node, so the name must be mapped though nothing listens.
                "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                "log.dirs": str(self.data_dir / "controller" / "data"),
            },
            wait_port=self.controller_port,
        )
        replicated = {
            "default.replication.factor": str(replication_factor),
            "min.insync.replicas": str(min_insync_replicas),
            "offsets.topic.replication.factor": str(min(replication_factor, brokers)),
            "transaction.state.log.replication.factor": str(min(replication_factor, brokers)),
            "transaction.state.log.min.isr": str(min(min_insync_replicas, brokers)),
        }
        self.ports = [free_port() for _ in range(brokers)]
        self._brokers = [
            Node(
                self.data_dir / f"broker-{index}",
                {
                    **BASE_PROPERTIES,
                    **replicated,
                    "process.roles": "broker",
                    "node.id": str(index),
                    "controller.quorum.bootstrap.servers": quorum,
                    "listeners": f"PLAINTEXT://127.0.0.1:{port}",
                    "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
                    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "log.dirs": str(self.data_dir / f"broker-{index}" / "data"),
                    **(properties or {}),
                },
                wait_port=port,
            )
            for index, port in enumerate(self.ports, start=1)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self) -> None:
        self._controller.format(self.cluster_id, standalone=True)
        for broker in self._brokers:
            broker.format(self.cluster_id, standalone=False)
        self._controller.start()
        for broker in self._brokers:
            broker.start()

    def stop_broker(self, index: int, *, hard: bool = True) -> None:
        """Take broker `index` (0-based) away: kill -9 by default."""
        node = self._brokers[index]
        node.kill() if hard else node.stop()

    def start_broker(self, index: int) -> None:
        self._brokers[index].start()

    def close(self) -> None:
        for broker in self._brokers:
            broker.stop()
        self._controller.stop()
        self._cleanup()
