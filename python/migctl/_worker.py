"""A pool worker: `python -m migctl._worker ENDPOINT`, started by `migctl run` once per worker slot.

migctl run has already pinned this process (CUDA_VISIBLE_DEVICES=<MIG UUID> and MIGCTL_*) before the
interpreter started; nothing here touches CUDA. The worker connects back to its pool over a Unix socket,
authenticates with the token in MIGCTL_POOL_TOKEN (removed from the environment before any task runs), and runs
tasks until told to stop. Exit status 0 means "done" (stopped, or the pool is gone); any death of this process
mid-task makes migctl run start a replacement, which connects again.
"""

from __future__ import annotations

import os
import pickle
import runpy
import sys
import time
import traceback
import types
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection
from typing import Any, Optional

from .worker import worker_info


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


def _serve(conn: Connection) -> int:
    info = worker_info()
    conn.send(("hello", info.__dict__))
    kind, config = conn.recv()
    if kind == "stop":
        return 0
    os.chdir(config["cwd"])
    sys.path[:] = config["sys_path"]
    setup = _Setup(config)
    if config.get("initializer") is not None:
        reply = _run(setup, config["initializer"])
        if reply[0] != "ok":
            conn.send(("init_error", *reply[1:]))
            return 0
    conn.send(("ready", None))
    while True:
        kind, payload = conn.recv()
        if kind == "stop":
            return 0
        conn.send(_run(setup, payload))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m migctl._worker ENDPOINT (with MIGCTL_POOL_TOKEN set)", file=sys.stderr)
        return 2
    token = os.environ.pop("MIGCTL_POOL_TOKEN", "")
    try:
        conn = Client(argv[1], family="AF_UNIX", authkey=bytes.fromhex(token))
    except (OSError, EOFError):
        return 0  # the pool has gone: nothing to do
    except AuthenticationError as error:
        # Seen once and not understood: fail, so that migctl run starts this slot's worker again (after a
        # pause, so that a token that can never match costs little), rather than leave the pool a worker short.
        print(f"migctl worker: {argv[1]} refused this worker: {error}; it will be started again", file=sys.stderr)
        time.sleep(1)
        return 1
    try:
        return _serve(conn)
    except (EOFError, OSError):
        return 0  # the pool closed the connection
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
