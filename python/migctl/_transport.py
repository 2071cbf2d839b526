"""How a pool and its workers reach each other: a Unix socket (workers on this host) or TCP (workers on Slurm nodes).

Both ends authenticate each other with multiprocessing's HMAC challenge over a 32-byte random key before anything
is unpickled, so only a process that was given the key can send the pool a pickle, or receive one. The pool side
accepts raw connections and authenticates each one on its own thread with a receive timeout, so a peer that
connects and says nothing (anyone on the network, for a TCP pool) cannot hold up the workers that follow it.

Endpoints are strings: a filesystem path (Unix socket) or `tcp://HOST:PORT` (`tcp://[::1]:PORT` for IPv6).
Pickles themselves are not encrypted: a TCP pool's tasks and results cross the cluster's network as they are.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from typing import Optional

HANDSHAKE_TIMEOUT_S = 5.0
MAX_HANDSHAKES = 32  # connections being authenticated at once; more are closed unread

__all__ = ["AuthenticationError", "Listener", "connect", "parse_tcp"]


def parse_tcp(endpoint: str) -> Optional[tuple[str, int]]:
    """(host, port) of a `tcp://HOST:PORT` endpoint (port 0: any, to listen); None for a Unix socket path.
    ValueError when malformed."""
    if not endpoint.startswith("tcp://"):
        return None
    host, sep, port = endpoint[len("tcp://"):].rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{endpoint!r} is not tcp://HOST:PORT")
    return host.strip("[]"), int(port)


def _set_receive_timeout(sock: socket.socket, seconds: float) -> None:
    """SO_RCVTIMEO applies to read(2) on the descriptor too, which is how Connection reads."""
    whole = int(seconds)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", whole, int((seconds - whole) * 1e6)))


def _authenticate(sock: socket.socket, key: bytes, server: bool) -> Connection:
    """Mutual challenge on a connected socket (which it takes over); OSError, EOFError or AuthenticationError."""
    _set_receive_timeout(sock, HANDSHAKE_TIMEOUT_S)
    conn = Connection(sock.detach())
    try:
        if server:
            deliver_challenge(conn, key)
            answer_challenge(conn, key)
        else:
            answer_challenge(conn, key)
            deliver_challenge(conn, key)
        with socket.socket(fileno=os.dup(conn.fileno())) as view:
            _set_receive_timeout(view, 0)  # authenticated: tasks may take as long as they take
    except BaseException:
        conn.close()
        raise
    return conn


class Listener:
    """The pool's end: listens on a Unix socket path or a TCP address; accept() yields raw sockets, and
    authenticate() (on a thread of the caller's) turns one into a Connection."""

    def __init__(self, endpoint: str, key: bytes) -> None:
        self._key = key
        self._handshakes = threading.BoundedSemaphore(MAX_HANDSHAKES)
        tcp = parse_tcp(endpoint)
        if tcp is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.bind(endpoint)
        else:
            info = socket.getaddrinfo(tcp[0], tcp[1], type=socket.SOCK_STREAM)[0]
            self._sock = socket.socket(info[0], socket.SOCK_STREAM)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind(info[4])
        self._sock.listen(64)
        if tcp is None:
            self.endpoint = endpoint
        else:
            host, port = self._sock.getsockname()[:2]
            self.endpoint = f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"

    def accept(self) -> Optional[socket.socket]:
        """The next connection, unauthenticated; None when too many are being authenticated (it was closed).
        OSError once the listener is closed."""
        sock, _ = self._sock.accept()
        if not self._handshakes.acquire(blocking=False):
            sock.close()
            return None
        return sock

    def authenticate(self, sock: socket.socket) -> Connection:
        """The authenticated connection; OSError, EOFError or AuthenticationError (the socket is closed then)."""
        try:
            return _authenticate(sock, self._key, server=True)
        finally:
            self._handshakes.release()

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept()
        except OSError:
            pass
        self._sock.close()


def connect(endpoint: str, key: bytes, timeout: float = 30.0) -> Connection:
    """The worker's end: an authenticated connection to the pool. OSError (unreachable, refused), EOFError
    or AuthenticationError."""
    tcp = parse_tcp(endpoint)
    if tcp is None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(endpoint)
        except BaseException:
            sock.close()
            raise
    else:
        sock = socket.create_connection(tcp, timeout=timeout)
        sock.settimeout(None)
    return _authenticate(sock, key, server=False)
