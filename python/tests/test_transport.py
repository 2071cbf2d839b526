"""The pool's transport as an attacker on the network sees it: nothing is unpickled before both ends proved they
hold the key, a peer that connects and says nothing holds up nobody, and a wrong key is refused."""

from __future__ import annotations

import socket
import struct
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import pytest

from migctl import _transport
from conftest import wait_for
from migctl._transport import AuthenticationError, Listener, connect, parse_tcp

KEY = bytes(range(32))


class Server:
    """Accepts and authenticates as the pool does (one thread per connection); records what happened."""

    def __init__(self) -> None:
        self.listener = Listener("tcp://127.0.0.1:0", KEY)
        self.outcomes: list[Any] = []
        self.connections: list[Connection] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock = self.listener.accept()
            except OSError:
                return
            if sock is not None:
                threading.Thread(target=self._authenticate, args=(sock,), daemon=True).start()

    def _authenticate(self, sock: socket.socket) -> None:
        try:
            conn = self.listener.authenticate(sock)
        except (OSError, EOFError, AuthenticationError) as error:
            self.outcomes.append(error)
            return
        self.connections.append(conn)
        self.outcomes.append(conn.recv())

    def address(self) -> tuple[str, int]:
        parsed = parse_tcp(self.listener.endpoint)
        assert parsed is not None
        return parsed


def test_a_peer_that_says_nothing_does_not_hold_up_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_transport, "HANDSHAKE_TIMEOUT_S", 0.5)
    server = Server()
    silent = socket.create_connection(server.address())  # connects, never answers the challenge
    started = time.monotonic()
    conn = connect(server.listener.endpoint, KEY)
    conn.send(("hello", 1))
    assert wait_for(lambda: ("hello", 1) in server.outcomes)
    assert time.monotonic() - started < 0.4  # not after the silent peer's timeout
    assert wait_for(lambda: any(isinstance(o, OSError) for o in server.outcomes))  # then it was dropped
    silent.close()
    server.listener.close()


def test_a_wrong_key_is_refused_at_both_ends() -> None:
    server = Server()
    with pytest.raises(AuthenticationError):
        connect(server.listener.endpoint, b"\x00" * 32)
    assert wait_for(lambda: any(isinstance(o, AuthenticationError) for o in server.outcomes))
    assert server.connections == []
    server.listener.close()


def test_a_pickle_sent_before_the_handshake_is_never_loaded(tmp_path: Any) -> None:
    server = Server()
    marker = tmp_path / "pwned"
    payload = (b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    with socket.create_connection(server.address()) as raw:
        raw.sendall(struct.pack("!i", len(payload)) + payload)
        assert wait_for(lambda: len(server.outcomes) == 1)
    assert not marker.exists()
    assert server.connections == [] and isinstance(server.outcomes[0], (AuthenticationError, OSError, EOFError))
    server.listener.close()


def test_endpoints_parse() -> None:
    assert parse_tcp("/tmp/x/pool.sock") is None
    assert parse_tcp("tcp://10.0.0.1:4000") == ("10.0.0.1", 4000)
    assert parse_tcp("tcp://[::1]:4000") == ("::1", 4000)
    for bad in ("tcp://10.0.0.1", "tcp://:4000", "tcp://h:99999", "tcp://h:x"):
        with pytest.raises(ValueError):
            parse_tcp(bad)
