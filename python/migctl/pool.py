"""Pool: persistent Python workers pinned to MIG slices, started and replaced by one `migctl run`.

The pool starts `migctl run --repeat W --workers W -- python -m migctl._worker ENDPOINT`: each of the W tasks
of that run is one long-lived worker process, pinned to its slice (CUDA_VISIBLE_DEVICES set before the
interpreter starts) and holding the slice's lease under migctl's keeper for as long as its process tree lives.
With slurm=, the run is `migctl run --slurm`: each worker is an element of one job array, on a slice Slurm
allocated on some node. Workers connect back (a Unix socket in a private 0700 directory; TCP from Slurm nodes)
and authenticate with a random key (_transport). One thread per connected worker feeds it tasks from the pool's
queue. A worker that dies fails its task (or hands it back to the queue while `retries` allow); migctl's own
--retries starts a replacement on the same slice.
"""

from __future__ import annotations

import collections
import concurrent.futures
import ctypes
import json
import os
import pickle
import re
import secrets
import shutil
import ipaddress
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any, Callable, Optional, Sequence, TextIO, TypeVar, Union

from ._binary import MigctlError, find_binary, global_options, run_json
from ._progress import Counts, ProgressLine
from ._serialize import dumps_call
from ._transport import AuthenticationError, Listener
from .status import gpu_list
from .worker import WorkerInfo

T = TypeVar("T")

# Each worker slot is one task of the migctl run; a slot's process is replaced at most this many times.
_REPLACEMENTS = 1000
_STDERR_TAIL = 40
# `migctl run`'s notes on how it started the workers (`7 tasks on 7 workers (--share mps)`, its MPS daemon):
# about the pool's own workers, not the user's tasks, so they stay in the tail for errors but are not shown.
_RUN_NOTE = re.compile(r"migctl: (\d+ tasks? on \d+ workers? \(|MPS control daemon pid )")


class PoolError(RuntimeError):
    """The pool cannot run tasks: migctl run failed or ended, an initializer failed, or the pool was closed."""


class WorkerLost(RuntimeError):
    """The worker running a task died (or was killed) before it answered."""


class RemoteTraceback(Exception):
    """Carries a worker's traceback text; set as __cause__ of the exception a task raised."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text}"""'


class RemoteError(Exception):
    """A task raised an exception that could not be sent back as itself; the message has its traceback."""


def _remote_exception(exc_bytes: Optional[bytes], text: str) -> BaseException:
    error: Optional[BaseException] = None
    if exc_bytes is not None:
        try:
            error = pickle.loads(exc_bytes)
        except Exception:
            error = None
    if not isinstance(error, BaseException):
        return RemoteError(text)
    error.__cause__ = RemoteTraceback(text)
    return error


class _Item:
    __slots__ = ("conn", "future", "payload", "retries_left", "started", "worker")

    def __init__(self, future: Future[Any], payload: bytes, retries: int) -> None:
        self.future = future
        self.payload = payload
        self.retries_left = retries
        self.started = False
        self.worker: Optional[WorkerInfo] = None
        self.conn: Optional[Connection] = None  # the worker's connection while it runs this task


class _Queue:
    """Tasks waiting for a worker. get() blocks until a task comes or the queue is closed and empty."""

    def __init__(self) -> None:
        self._items: collections.deque[_Item] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item: _Item, front: bool = False) -> None:
        with self._cond:
            (self._items.appendleft if front else self._items.append)(item)
            self._cond.notify()

    def get(self) -> Optional[_Item]:
        with self._cond:
            while not self._items and not self._closed:
                self._cond.wait()
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._items)

    def drain(self) -> list[_Item]:
        with self._cond:
            items = list(self._items)
            self._items.clear()
            return items


try:
    _prctl: Optional[Callable[..., int]] = ctypes.CDLL(None, use_errno=True).prctl  # looked up before any fork
except (OSError, AttributeError):
    _prctl = None
_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:
    """In the migctl run child, before exec: get SIGINT (stop every task) when the pool's thread dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


_SLURM_KEYS = {"nodes", "partition", "time", "spool", "address"}


def _slurm_options(slurm: Mapping[str, Any]) -> list[str]:
    unknown = sorted(set(slurm) - _SLURM_KEYS)
    if unknown:
        raise ValueError(f"slurm= does not take {', '.join(unknown)} (it takes {', '.join(sorted(_SLURM_KEYS))})")
    options = ["--slurm"]
    for key in ("nodes", "partition", "time", "spool"):
        if slurm.get(key) is not None:
            options += [f"--{key}", str(slurm[key])]
    return options


def _write_key_file(spool: str, token: str) -> str:
    """The key for workers on Slurm nodes, in a new 0600 file of the spool (which the nodes share): only this
    user (and root) can read it, unlike an environment that Slurm stores with the job. The spool must be a
    directory of this user's that nobody else can change; it is made (0700) when missing."""
    os.makedirs(spool, mode=0o700, exist_ok=True)
    st = os.lstat(spool)
    if not os.path.isdir(spool) or os.path.islink(spool) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise ValueError(f"the spool {spool} must be a directory of yours that nobody else can change")
    path = os.path.join(os.path.abspath(spool), f"pool-{secrets.token_hex(8)}.key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return path


def _this_host_address() -> str:
    """An address of this host that Slurm nodes can reach: the first non-loopback address its name resolves
    to, else the loopback one (a cluster on this host alone). slurm=dict(address=...) overrides it."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM)
    except OSError:
        return "127.0.0.1"
    addresses = [str(info[4][0]) for info in infos]
    routable = [a for a in addresses if not ipaddress.ip_address(a).is_loopback]
    return (routable or addresses or ["127.0.0.1"])[0]


class Pool:
    """Persistent workers, one per MIG device (or per MPS/time-sliced share), running Python callables.

    Use it as a context manager: leaving the `with` block normally waits for the submitted tasks and stops the
    workers (ephemeral=True then removes the instances the pool created); leaving it by an exception (Ctrl-C
    included) stops every worker's process tree at once. Methods may be called from any thread.
    """

    def __init__(
        self,
        profile: Optional[str] = None,
        workers: Optional[int] = None,
        *,
        memory: Optional[str] = None,
        create: bool = False,
        ephemeral: bool = False,
        share: Optional[str] = None,
        gpus: Union[None, int, str, Sequence[Union[int, str]]] = None,
        mps_threads: Union[None, int, str] = None,
        mps_memory: Optional[str] = None,
        initializer: Optional[Callable[..., Any]] = None,
        initargs: tuple[Any, ...] = (),
        retries: int = 0,
        grace: float = 10.0,
        lock_timeout: Optional[float] = None,
        sim: Optional[str] = None,
        migctl: Optional[str] = None,
        python: Optional[str] = None,
        progress: Union[None, bool, TextIO] = None,
        slurm: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Starts the workers (they connect in the background; submit() may be called at once).

        profile, memory, gpus, create, ephemeral, share, mps_threads, mps_memory, lock_timeout: as the
        `migctl run` options of the same names. workers: how many (default: every matching idle device).
        retries: how many times a task whose worker died is given to another worker. grace: seconds between
        SIGTERM and SIGKILL when stopping. sim: simulator state file. migctl: the binary (default $MIGCTL_BIN,
        then PATH). python: the workers' interpreter (default this one). progress: a line of done, failed
        and running tasks on stderr (True), on that stream, or none (False); default: when stderr is a terminal.
        slurm: run the workers as one Slurm job array (`migctl run --slurm`), each on a slice (profile= or
        memory=) Slurm allocates on some node: a dict of nodes, partition, time, spool (as run's --nodes …;
        default spool: a new directory in the working directory, removed by a close() where all went well) and
        address (this host's address the nodes connect back to; default: what its name resolves to). The
        working directory and the interpreter must be on a file system the nodes share.
        Needs workers=; this host's device options (create, ephemeral, share, gpus, mps_*) do not apply.
        Raises MigctlError or ValueError.
        """
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self._binary = find_binary(migctl)
        self._own_spool: Optional[str] = None
        self._key_file: Optional[str] = None
        self._retries = retries
        self._grace = grace
        if slurm is not None:
            local = {"create": create, "ephemeral": ephemeral, "share": share, "gpus": gpus,
                     "mps_threads": mps_threads, "mps_memory": mps_memory}
            given = [name for name, value in local.items() if value not in (None, False)]
            if given:
                raise ValueError(f"{', '.join(given)} choose this host's devices; with slurm=, Slurm allocates "
                                 f"one slice per worker (create the slices on the nodes beforehand)")
            if workers is None or not (profile or memory):
                raise ValueError("slurm= needs workers= and profile= (or memory=)")
            _slurm_options(slurm)  # bad keys are refused before a spool is made
            spool = slurm.get("spool")
            if spool is None:  # the pool's own, in the working directory (which the nodes share), removed by close()
                spool = self._own_spool = tempfile.mkdtemp(prefix="migctl-pool-", dir=os.getcwd())
            self._spool = str(spool)
            run_options = _slurm_options({**slurm, "spool": spool}) + self._run_options(profile, memory, False, False, None, None,
                                                                     None, None)
        else:
            run_options = self._run_options(profile, memory, create, ephemeral, share, gpus, mps_threads,
                                            mps_memory)
        if lock_timeout is not None:
            run_options += ["--lock-timeout", str(lock_timeout)]
        if workers is None:
            if create or share:
                raise ValueError("workers= is needed with create=True or share=")
            workers = self._count_devices(run_options, sim)
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.size = workers
        self._remote = slurm is not None

        self._dir = tempfile.mkdtemp(prefix="migctl-pool-")  # 0700: only this user reaches the socket
        token = secrets.token_hex(32)
        if slurm is None:
            endpoint = os.path.join(self._dir, "pool.sock")
        else:
            address = str(slurm.get("address") or _this_host_address())
            endpoint = f"tcp://[{address}]:0" if ":" in address else f"tcp://{address}:0"
        self._listener = Listener(endpoint, bytes.fromhex(token))
        if slurm is not None:
            self._key_file = _write_key_file(self._spool, token)
        self.endpoint = self._listener.endpoint
        self._queue = _Queue()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # workers connected or the pool broke
        self._workers: dict[tuple[str, int], WorkerInfo] = {}  # connected workers by (node, pid)
        self._running: set[_Item] = set()
        self._connections = 0  # workers that ever became ready
        self._closing = False
        self._listener_closed = False
        self._broken: Optional[BaseException] = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        self._threads: list[threading.Thread] = []
        self.results: list[dict[str, Any]] = []  # migctl run's JSON line per worker slot
        self.summary: Optional[dict[str, Any]] = None  # migctl run's summary, after close()
        self.returncode: Optional[int] = None
        self._config = self._worker_config(initializer, initargs)
        self._submitted = self._succeeded = self._failed = 0
        stream = progress if progress is not None and not isinstance(progress, bool) else sys.stderr
        show = progress if isinstance(progress, bool) else progress is not None or sys.stderr.isatty()
        self._progress = ProgressLine(stream, self._counts) if show else None

        argv = [
            self._binary, *global_options(sim), "run", "--json", *([] if slurm else ["--workers", str(workers)]),
            *run_options,
            "--repeat", str(workers), "--retries", str(_REPLACEMENTS), "--grace", str(grace),
            "--", python or sys.executable, "-m", "migctl._worker", self.endpoint,
        ]
        # With slurm=, the array's elements get this environment (SBATCH_EXPORT), which names the key's file.
        env = dict(os.environ, SBATCH_EXPORT="ALL")
        env.pop("MIGCTL_POOL_TOKEN", None)
        env.pop("MIGCTL_POOL_TOKEN_FILE", None)
        if self._key_file is not None:
            env["MIGCTL_POOL_TOKEN_FILE"] = self._key_file
        else:
            env["MIGCTL_POOL_TOKEN"] = token
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        self._process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            cwd=os.getcwd(), start_new_session=True, text=True,
            # The parent-death signal follows the creating thread, so only a pool made by the main thread
            # (which lives as long as the process) asks for it; any pool's workers also exit when the pool's
            # process dies, as their connections close.
            preexec_fn=_set_parent_death_signal if threading.current_thread() is threading.main_thread() else None,
        )
        self._start_thread(self._accept_loop, "migctl-pool-accept")
        self._readers = [self._start_thread(self._read_results, "migctl-pool-results"),
                         self._start_thread(self._forward_stderr, "migctl-pool-stderr")]
        self._watcher = self._start_thread(self._watch_run, "migctl-pool-watch")

    # ---- public API ---------------------------------------------------------------------------------------

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queues fn(*args, **kwargs) for the next idle worker; the Future gets its result or exception."""
        payload = dumps_call(fn, args, kwargs)
        future: Future[T] = Future()
        with self._lock:
            if self._broken is not None:
                raise PoolError(f"the pool cannot run tasks: {self._broken}")
            if self._closing:
                raise PoolError("the pool is closed")
            self._queue.put(_Item(future, payload, self._retries))
            self._submitted += 1
        future.add_done_callback(self._count_done)
        return future

    def imap_unordered(self, fn: Callable[..., T], iterable: Iterable[Any], *,
                       timeout: Optional[float] = None) -> Iterator[T]:
        """Submits fn(item) for every item (a Mapping item as keyword arguments) and yields results as they
        finish. timeout: seconds from this call; TimeoutError then, with unfinished tasks cancelled or stopped.
        A task's exception is raised when its result comes up."""
        futures = [self._submit_item(fn, item) for item in iterable]
        return self._yield(futures, concurrent.futures.as_completed(futures, timeout=timeout), timeout)

    def imap(self, fn: Callable[..., T], iterable: Iterable[Any], *,
             timeout: Optional[float] = None) -> Iterator[T]:
        """As imap_unordered, but yields results in the order of the items."""
        futures = [self._submit_item(fn, item) for item in iterable]
        return self._yield(futures, iter(futures), timeout)

    def map(self, fn: Callable[..., T], iterable: Iterable[Any], *, timeout: Optional[float] = None) -> list[T]:
        """fn(item) for every item (a Mapping item as keyword arguments), results in order of the items.

        Raises the first failed task's exception, or TimeoutError after `timeout` seconds (then the tasks not
        yet done are cancelled, and those running are stopped by replacing their workers)."""
        return list(self.imap(fn, iterable, timeout=timeout))

    def starmap(self, fn: Callable[..., T], iterable: Iterable[Sequence[Any]], *,
                timeout: Optional[float] = None) -> list[T]:
        """fn(*args) for every args tuple, results in order."""
        futures = [self.submit(fn, *args) for args in iterable]
        return list(self._yield(futures, iter(futures), timeout))

    @property
    def workers(self) -> list[WorkerInfo]:
        """The workers connected now (a replaced worker shows its new pid and attempt)."""
        with self._lock:
            return sorted(self._workers.values(), key=lambda w: w.index)

    def wait_ready(self, timeout: Optional[float] = None) -> list[WorkerInfo]:
        """Waits until all `size` workers are connected and initialized (tasks may be submitted before).

        Useful when every task should start at once on its own slice. Raises TimeoutError, or PoolError when
        the pool broke (migctl run failed, an initializer failed)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while len(self._workers) < self.size and self._broken is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"{len(self._workers)} of {self.size} workers ready after {timeout} s")
                self._changed.wait(left)
            if self._broken is not None:
                raise PoolError(str(self._broken))
            return sorted(self._workers.values(), key=lambda w: w.index)

    def close(self, timeout: Optional[float] = None) -> None:
        """Waits for the submitted tasks, stops the workers and waits for migctl run (which removes the
        instances it created when ephemeral=True). Idempotent. timeout: then terminate()."""
        with self._lock:
            self._closing = True
        self._queue.close()
        self._watcher.join(timeout)
        if self._watcher.is_alive():
            self.terminate()
        elif self._own_spool and self.returncode == 0 and self._broken is None:
            shutil.rmtree(self._own_spool, ignore_errors=True)  # kept when something failed: its logs tell
        self._cleanup()

    def terminate(self) -> None:
        """Stops every worker's process tree now (SIGTERM, then SIGKILL after grace); unfinished tasks fail
        with PoolError."""
        with self._lock:
            self._closing = True
            if self._broken is None:
                self._broken = PoolError("the pool was terminated")
        self._queue.close()
        self._fail_unfinished()
        self._signal_run(signal.SIGINT)
        self._watcher.join(self._grace + 10)
        if self._watcher.is_alive():
            self._signal_run(signal.SIGKILL)
            self._watcher.join()
        self._cleanup()

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.terminate()

    # ---- starting ----------------------------------------------------------------------------------------

    @staticmethod
    def _run_options(profile: Optional[str], memory: Optional[str], create: bool, ephemeral: bool,
                     share: Optional[str], gpus: Any, mps_threads: Any, mps_memory: Optional[str]) -> list[str]:
        options: list[str] = []
        if gpus is not None:
            options += ["-i", gpu_list(gpus)]
        if profile:
            options += ["--profile", profile]
        if memory:
            options += ["--memory", str(memory)]
        if create:
            options.append("--create")
        if ephemeral:
            options.append("--ephemeral")
        if share:
            options += ["--share", share]
        if mps_threads is not None:
            options += ["--mps-threads", str(mps_threads)]
        if mps_memory:
            options += ["--mps-memory", str(mps_memory)]
        return options

    def _count_devices(self, run_options: list[str], sim: Optional[str]) -> int:
        plan = run_json(["run", "--dry-run", *run_options, "--", "true"], sim=sim, binary=self._binary)
        count = len(plan.get("workers", []))
        if count == 0:
            raise MigctlError("no MIG device matches the pool's options")
        return count

    @staticmethod
    def _worker_config(initializer: Optional[Callable[..., Any]], initargs: tuple[Any, ...]) -> dict[str, Any]:
        main = sys.modules.get("__main__")
        spec = getattr(main, "__spec__", None)
        main_module = spec.name if spec is not None and spec.name not in ("__main__", None) else None
        main_path = getattr(main, "__file__", None)
        return {
            "cwd": os.getcwd(),
            "sys_path": list(sys.path),
            "main_module": main_module,
            "main_path": os.path.abspath(main_path) if main_path and not main_module else None,
            "initializer": dumps_call(initializer, initargs, {}) if initializer is not None else None,
        }

    def _start_thread(self, target: Callable[..., None], name: str, *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    # ---- threads ------------------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while True:
            try:
                sock = self._listener.accept()
            except OSError:
                with self._lock:
                    if self._listener_closed:
                        return
                continue
            if sock is not None:
                self._start_thread(self._serve_worker, "migctl-pool-worker", sock)

    def _serve_worker(self, sock: socket.socket) -> None:
        try:
            conn = self._listener.authenticate(sock)
        except AuthenticationError as error:
            sys.stderr.write(f"migctl.Pool: refused a connection to {self.endpoint}: {error}\n")
            return
        except (OSError, EOFError):
            return  # a worker stopped during the handshake, or a peer that said nothing
        info: Optional[WorkerInfo] = None
        item: Optional[_Item] = None
        try:
            kind, hello = conn.recv()
            info = WorkerInfo(**hello)
            with self._lock:
                stopping = self._broken is not None
            if stopping:
                conn.send(("stop", None))
                return
            conn.send(("config", self._config))
            reply = conn.recv()
            if reply[0] == "init_error":
                self._break(PoolError(f"the initializer failed in worker {info.index} ({info.device}):\n"
                                      f"{reply[2]}"))
                return
            with self._lock:
                self._workers[(info.node, info.pid)] = info
                self._connections += 1
                self._changed.notify_all()
            while True:
                item = self._queue.get()
                if item is None:
                    conn.send(("stop", None))
                    return
                if not item.started:
                    if not item.future.set_running_or_notify_cancel():
                        item = None
                        continue
                    item.started = True
                item.worker, item.conn = info, conn
                with self._lock:
                    self._running.add(item)
                conn.send(("task", item.payload))
                reply = conn.recv()
                with self._lock:
                    self._running.discard(item)
                    item.conn = None
                self._settle(item, reply)
                item = None
        except (EOFError, OSError):
            if info is not None:  # gone before its task fails: whoever waits on the failure sees it gone
                with self._lock:
                    self._workers.pop((info.node, info.pid), None)
            if item is not None:
                self._worker_lost(item, info)
        finally:
            if info is not None:
                with self._lock:
                    self._workers.pop((info.node, info.pid), None)
            conn.close()

    def _settle(self, item: _Item, reply: tuple[Any, ...]) -> None:
        if item.future.done():  # timed out while it ran
            return
        if reply[0] == "ok":
            try:
                item.future.set_result(pickle.loads(reply[1]))
            except Exception as error:
                item.future.set_exception(RemoteError(f"cannot unpickle the task's result: {error!r}"))
        else:
            item.future.set_exception(_remote_exception(reply[1], reply[2]))

    def _worker_lost(self, item: _Item, info: Optional[WorkerInfo]) -> None:
        with self._lock:
            self._running.discard(item)
            broken = self._broken
        if item.future.done():
            return
        where = f"worker {info.index} (pid {info.pid}, {info.device})" if info else "a worker"
        if item.retries_left > 0 and broken is None:
            item.retries_left -= 1
            self._queue.put(item, front=True)
            return
        item.future.set_exception(WorkerLost(
            f"{where} died while running the task (killed, crashed or os._exit); migctl run replaces it"))

    def _read_results(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if "summary" in doc:
                self.summary = doc["summary"]
            else:
                self.results.append(doc)

    def _forward_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr_tail.append(line)
            if not _RUN_NOTE.match(line):  # the pool says what `migctl run` would about its own workers
                sys.stderr.write(line)

    def _watch_run(self) -> None:
        self.returncode = self._process.wait()
        for thread in self._readers:
            thread.join()
        with self._lock:
            closing = self._closing
        if not closing or self._queue.pending():
            tail = "".join(self._stderr_tail).strip()
            hint = ""
            if self._remote and not self._connections and self.summary is not None:
                hint = (f"\nno worker connected back to {self.endpoint}: if the nodes cannot reach that address, "
                        f"give one they can (slurm=dict(address=...)); the workers' logs are in "
                        f"{self.summary.get('spool')}/logs")
            self._break(PoolError(f"migctl run exited (status {self.returncode}) while the pool was open"
                                  + (f":\n{tail}" if tail else "") + hint))

    # ---- stopping -----------------------------------------------------------------------------------------

    def _break(self, error: BaseException) -> None:
        """Stops accepting tasks, fails the waiting ones with `error` and stops migctl run."""
        with self._lock:
            if self._broken is None:
                self._broken = error
            self._changed.notify_all()
        self._queue.close()
        for item in self._queue.drain():
            if not item.future.done() and (item.started or item.future.set_running_or_notify_cancel()):
                item.future.set_exception(error)
        if self._process.poll() is None:
            self._signal_run(signal.SIGINT)

    def _fail_unfinished(self) -> None:
        error = self._broken or PoolError("the pool was terminated")
        pending = self._queue.drain()
        with self._lock:
            running = list(self._running)
        for item in pending:
            if not item.future.cancel() and not item.future.done():
                item.future.set_exception(error)
        for item in running:
            if not item.future.done():
                item.future.set_exception(error)

    def _signal_run(self, signum: int) -> None:
        if self._process.poll() is None:
            try:
                self._process.send_signal(signum)
            except ProcessLookupError:
                pass

    def _count_done(self, future: Future[Any]) -> None:
        with self._lock:
            if not future.cancelled() and future.exception() is None:
                self._succeeded += 1
            else:
                self._failed += 1

    def _counts(self) -> Counts:
        with self._lock:
            return Counts(self._submitted, self._succeeded, self._failed, len(self._running),
                          len(self._workers), self.size)

    def _cleanup(self) -> None:
        if self._progress is not None:
            progress, self._progress = self._progress, None
            progress.close()
        with self._lock:
            self._listener_closed = True
        self._listener.close()
        if self._key_file is not None:
            try:
                os.unlink(self._key_file)
            except OSError:
                pass
        shutil.rmtree(self._dir, ignore_errors=True)

    # ---- helpers for map and friends ----------------------------------------------------------------------

    def _submit_item(self, fn: Callable[..., T], item: Any) -> Future[T]:
        if isinstance(item, Mapping):
            return self.submit(fn, **item)
        return self.submit(fn, item)

    def _yield(self, futures: list[Future[T]], order: Iterator[Future[T]],
               timeout: Optional[float]) -> Iterator[T]:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            for future in order:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                yield future.result(left)
        except concurrent.futures.TimeoutError:
            self._stop(futures)
            raise TimeoutError(f"tasks not finished after {timeout} s") from None
        finally:
            for future in futures:
                future.cancel()

    def _stop(self, futures: list[Future[Any]]) -> None:
        """Cancels the futures not started; fails the running ones and ends their workers (migctl replaces
        them), so that a timed-out task does not keep its slice: closing a worker's connection mid-task makes
        it exit (on any node), and a worker on this host is also killed, in case its task holds the GIL."""
        wanted = set(futures)
        with self._lock:
            running = [(item, item.conn, item.worker) for item in self._running if item.future in wanted]
        for future in futures:
            future.cancel()
        for item, conn, worker in running:
            if not item.future.done():
                item.future.set_exception(TimeoutError("the task was stopped: its map() timed out"))
            if conn is not None:
                try:
                    with socket.socket(fileno=os.dup(conn.fileno())) as view:
                        view.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if worker is not None and not self._remote:
                try:
                    os.kill(worker.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
