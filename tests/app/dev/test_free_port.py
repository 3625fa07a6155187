"""Local servers of one run get distinct ports even when the kernel offers a released one again."""

import socket
from typing import Any

import pytest

from app.dev import localbroker


def test_a_port_handed_out_once_is_never_handed_out_again(monkeypatch: pytest.MonkeyPatch) -> None:
    offered = iter([47001, 47001, 47002])

    class Socket(socket.socket):
        def getsockname(self) -> Any:
            return ("127.0.0.1", next(offered))

    monkeypatch.setattr(localbroker.socket, "socket", Socket)
    monkeypatch.setattr(localbroker, "_HANDED_OUT", set())
    assert [localbroker.free_port(), localbroker.free_port()] == [47001, 47002]
