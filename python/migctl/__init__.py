"""migctl for Python: MIG status as dataclasses, and a pool of persistent workers pinned to MIG slices.

Everything goes through the migctl binary ($MIGCTL_BIN, else `migctl` on PATH) and its JSON interfaces.
"""

from ._binary import MigctlError, find_binary
from .pool import Pool, PoolError, RemoteError, RemoteTraceback, WorkerLost
from .status import Gpu, Instance, MigMode, Process, status
from .worker import WorkerInfo, worker_info

__all__ = [
    "Gpu", "Instance", "MigMode", "MigctlError", "Pool", "PoolError", "Process", "RemoteError",
    "RemoteTraceback", "WorkerInfo", "WorkerLost", "find_binary", "status", "worker_info",
]
__version__ = "0.1.0"
