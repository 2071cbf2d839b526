"""What a task learns about the worker that runs it (from the variables `migctl run` and `migctl exec` set)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerInfo:
    index: int  # the worker's slot in its pool, 0 … workers-1; a replacement keeps its slot (MIGCTL_TASK_ID - 1)
    device: str  # MIG (or GPU) UUID this worker is pinned to; equals CUDA_VISIBLE_DEVICES
    profile: str  # GPU instance profile (3g.40gb), or "gpu" for a shared whole GPU
    gpu: int  # index of the physical GPU on its node
    attempt: int  # 1 for a slot's first process, 2 after migctl replaced it once, …
    pid: int  # on its node
    node: str  # the Slurm node (SLURMD_NODENAME), else this host's short name


def worker_info() -> WorkerInfo:
    """The calling worker's identity; RuntimeError outside a process started by `migctl run`."""
    env = os.environ
    if "MIGCTL_TASK_ID" not in env or "MIGCTL_DEVICE" not in env:
        raise RuntimeError("worker_info(): not inside a migctl worker (no MIGCTL_TASK_ID in the environment)")
    return WorkerInfo(
        index=int(env["MIGCTL_TASK_ID"]) - 1,
        device=env["MIGCTL_DEVICE"],
        profile=env.get("MIGCTL_PROFILE", ""),
        gpu=int(env.get("MIGCTL_GPU", "-1")),
        attempt=int(env.get("MIGCTL_ATTEMPT", "1")),
        pid=os.getpid(),
        node=env.get("SLURMD_NODENAME") or socket.gethostname().split(".")[0],
    )
