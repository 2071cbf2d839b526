"""Module-level task functions the tests send to pool workers (by reference)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import migctl

_initialized: list[float] = []


def init(marker: str) -> None:
    _initialized.append(time.time())
    os.environ["POOL_INIT_MARKER"] = marker


def whoami(value: Any = None, sleep: float = 0.0) -> dict[str, Any]:
    start = time.time()
    time.sleep(sleep)
    info = migctl.worker_info()
    return {
        "value": value,
        "pid": os.getpid(),
        "index": info.index,
        "device": info.device,
        "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "attempt": info.attempt,
        "inits": len(_initialized),
        "marker": os.environ.get("POOL_INIT_MARKER"),
        "start": start,
        "end": time.time(),
    }


def square(x: int, sleep: float = 0.0) -> int:
    time.sleep(sleep)
    return x * x


def fail(message: str) -> None:
    raise ValueError(message)


def die_once(flag_path: str, how: str = "exit") -> int:
    """Dies the first time it is called for flag_path (the flag file records it), then returns the pid."""
    if not os.path.exists(flag_path):
        with open(flag_path, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(0.1)
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(3)
    return os.getpid()


def die() -> None:
    os._exit(7)


def environment(names: list[str]) -> dict[str, Any]:
    return {name: os.environ.get(name) for name in names}
