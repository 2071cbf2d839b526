"""A pool worker: `python -m migctl._worker ENDPOINT`, started by `migctl run` once per worker slot (on this
host, or as an element of `migctl run --slurm`'s job array on a Slurm node).

migctl run (or exec) has already pinned this process (CUDA_VISIBLE_DEVICES=<MIG UUID> and MIGCTL_*) before the
interpreter started; nothing here touches CUDA. The worker connects back to its pool (a Unix socket, or
tcp://HOST:PORT from a Slurm node), authenticates with the key in MIGCTL_POOL_TOKEN (or, from a Slurm node, in the
file MIGCTL_POOL_TOKEN_FILE names, in the private spool; both removed from the environment before any task runs),
and runs tasks until told to stop. Exit status 0 means "done" (stopped, or the pool is
gone); any death of this process mid-task makes migctl start a replacement on the same slice, which connects
again. The pool stops a running task by closing the connection: the worker then exits at once (status 75).
"""

from __future__ import annotations

import os
import pickle
import runpy
import select
import socket
import sys
import threading
import time
import traceback
import types
from multiprocessing.connection import Connection
from typing import Any, Optional

from ._transport import AuthenticationError, connect
from .worker import worker_info

EXIT_STOPPED = 75  # the pool closed the connection without "stop" (a task timed out): a replacement follows


class _Setup:
    def __init__(self, config: dict[str, Any]) -> None:
        self.main_path: Optional[str] = config.get("main_path")
        self.main_module: Optional[str] = config.get("main_module")
        self.main_loaded = False

    def load_main(self) -> bool:
        """Imports the pool's __main__ as __mp_main__ (as multiprocessing's spawn does); False if none."""
        if self.main_loaded or not (self.main_path or self.main_module):
            return False
        self.main_loaded = True
        module = types.ModuleType("__mp_main__")
        if self.main_module:
            content = runpy.run_module(self.main_module, run_name="__mp_main__", alter_sys=True)
        else:
            content = runpy.run_path(str(self.main_path), run_name="__mp_main__")
        module.__dict__.update(content)
        sys.modules["__main__"] = sys.modules["__mp_main__"] = module
        return True

    def loads(self, payload: bytes) -> Any:
        try:
            return pickle.loads(payload)
        except (AttributeError, ImportError):
            if self.load_main():
                return pickle.loads(payload)
            raise


def _error_reply(error: BaseException) -> tuple[str, Optional[bytes], str]:
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        pickled = pickle.dumps(error)
        pickle.loads(pickled)  # some exceptions pickle but cannot be rebuilt
        exc_bytes: Optional[bytes] = pickled
    except Exception:
        exc_bytes = None
    return ("error", exc_bytes, text)


def _run(setup: _Setup, payload: bytes) -> tuple[Any, ...]:
    try:
        fn, args, kwargs = setup.loads(payload)
        result = fn(*args, **kwargs)
    except BaseException as error:  # SystemExit and KeyboardInterrupt in a task are the task's failure
        return _error_reply(error)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    try:
        return ("ok", pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as error:
        return _error_reply(TypeError(f"the task's result {type(result).__name__} cannot be pickled: {error}"))


class _Watchdog:
    """While a task runs, the pool sends nothing; if it closes the connection then (the task timed out), this
    thread ends the process, so the slice is freed and migctl starts a fresh worker on it."""

    def __init__(self, conn: Connection) -> None:
        self._sock = socket.socket(fileno=os.dup(conn.fileno()))
        self.running = False
        threading.Thread(target=self._watch, name="migctl-worker-watchdog", daemon=True).start()

    def _watch(self) -> None:
        while True:
            readable, _, _ = select.select([self._sock], [], [], 0.5)
            if not readable or not self.running:
                time.sleep(0.05 if readable else 0)  # data for the main thread, or nothing to watch
                continue
            try:
                closed = self._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            if closed and self.running:
                os._exit(EXIT_STOPPED)
            time.sleep(0.05)


def _apply_config(config: dict[str, Any]) -> Optional[BaseException]:
    try:
        os.chdir(config["cwd"])
    except OSError as error:
        return RuntimeError(f"the pool's working directory is not on this node ({error}): start the pool in a "
                            f"directory of a file system the nodes share")
    sys.path[:] = config["sys_path"]
    return None


def _serve(conn: Connection) -> int:
    info = worker_info()
    conn.send(("hello", info.__dict__))
    kind, config = conn.recv()
    if kind == "stop":
        return 0
    setup = _Setup(config)
    error = _apply_config(config)
    reply: Optional[tuple[Any, ...]] = _error_reply(error) if error else None
    if reply is None and config.get("initializer") is not None:
        reply = _run(setup, config["initializer"])
    if reply is not None and reply[0] != "ok":
        conn.send(("init_error", *reply[1:]))
        return 0
    conn.send(("ready", None))
    watchdog = _Watchdog(conn)
    while True:
        kind, payload = conn.recv()
        if kind == "stop":
            return 0
        watchdog.running = True
        result = _run(setup, payload)
        watchdog.running = False
        conn.send(result)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m migctl._worker ENDPOINT (with MIGCTL_POOL_TOKEN set)", file=sys.stderr)
        return 2
    token = os.environ.pop("MIGCTL_POOL_TOKEN", "")
    key_file = os.environ.pop("MIGCTL_POOL_TOKEN_FILE", "")
    if key_file:
        try:
            with open(key_file) as f:
                token = f.read().strip()
        except OSError as error:
            print(f"migctl worker: cannot read the pool's key ({error}); exiting", file=sys.stderr)
            return 0
    try:
        conn = connect(argv[1], bytes.fromhex(token))
    except (OSError, EOFError) as error:
        # The pool has gone (nothing to do), or, from a Slurm node, cannot be reached: say so in the task's log.
        print(f"migctl worker: cannot reach the pool at {argv[1]} ({error}); exiting", file=sys.stderr)
        return 0
    except AuthenticationError as error:
        # Seen once and not understood: fail, so that migctl run starts this slot's worker again (after a
        # pause, so that a token that can never match costs little), rather than leave the pool a worker short.
        print(f"migctl worker: {argv[1]} refused this worker: {error}; it will be started again", file=sys.stderr)
        time.sleep(1)
        return 1
    try:
        return _serve(conn)
    except (EOFError, OSError):
        # Closed without a "stop": the pool ended this worker (a task's timeout) or died. Fail, so that a pool
        # still open gets a fresh worker on this slice; a pool that died has stopped migctl run too.
        return EXIT_STOPPED
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
