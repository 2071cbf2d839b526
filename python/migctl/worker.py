"""What a task learns about the worker that runs it (from the MIGCTL_* variables `migctl run` sets)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerInfo:
    index: int  # the worker's number in its pool (MIGCTL_WORKER)
    device: str  # MIG (or GPU) UUID this worker is pinned to; equals CUDA_VISIBLE_DEVICES
    profile: str  # GPU instance profile (3g.40gb), or "gpu" for a shared whole GPU
    gpu: int  # index of the physical GPU
    attempt: int  # 1 for a worker's first process, 2 after migctl run replaced it once, …
    pid: int


def worker_info() -> WorkerInfo:
    """The calling worker's identity; RuntimeError outside a process started by `migctl run`."""
    env = os.environ
    if "MIGCTL_WORKER" not in env or "MIGCTL_DEVICE" not in env:
        raise RuntimeError("worker_info(): not inside a migctl worker (no MIGCTL_WORKER in the environment)")
    return WorkerInfo(
        index=int(env["MIGCTL_WORKER"]),
        device=env["MIGCTL_DEVICE"],
        profile=env.get("MIGCTL_PROFILE", ""),
        gpu=int(env.get("MIGCTL_GPU", "-1")),
        attempt=int(env.get("MIGCTL_ATTEMPT", "1")),
        pid=os.getpid(),
    )
