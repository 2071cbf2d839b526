#!/usr/bin/env python3
"""migctl.Pool against the two ways people run N trainings on W workers today, side by side in one run:

  run   `migctl run --workers W --repeat N -- python3 tools/device/mlp_train.py`: one process per task, each
        paying Python, torch's import and CUDA's start-up;
  mp    a hand-written persistent pool: multiprocessing (spawn) with W processes, each taking a device from a
        queue in its initializer and setting CUDA_VISIBLE_DEVICES before torch is imported;
  pool  migctl.Pool(workers=W): W persistent workers pinned by migctl.

The task is tools/device/mlp_train.py's training (its train() for mp and pool). Contenders alternate within
each round, so drift hits all alike; the table has medians over rounds and ratios to mp. Wall time counts from
the start of the pool (or run) until every result is back and the workers have exited.

  On simulated MIG devices, CPU PyTorch (this repository's dev machine):
    python3 bench/python_pool.py --sim --workers 2 --tasks 2,8 --rounds 5 --train "--epochs 2 --width 256"
  On a GPU with MIG off (the H200), all workers on the whole GPU under MPS (one daemon for each contender):
    python3 bench/python_pool.py --share mps --workers 7 --tasks 7,28 --rounds 1
Needs PyTorch, and migctl at $MIGCTL_BIN (default build/migctl).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "python"), str(REPO / "tools" / "device")]

import migctl  # noqa: E402
import mlp_train  # noqa: E402

MIGCTL = os.path.abspath(os.environ.get("MIGCTL_BIN", str(REPO / "build" / "migctl")))
os.environ["MIGCTL_BIN"] = MIGCTL


def train_kwargs(text: str) -> dict:
    parsed, i, words = {}, 0, shlex.split(text)
    while i < len(words):
        parsed[words[i].lstrip("-")] = int(words[i + 1])
        i += 2
    return parsed


# ---- mp: the hand-written pool -----------------------------------------------------------------------------

def _mp_init(devices) -> None:
    os.environ["CUDA_VISIBLE_DEVICES"] = devices.get()  # before torch is imported in this process


def _mp_train(kwargs: dict) -> dict:
    return mlp_train.train(**kwargs)


def _mp_trivial(x: int) -> int:
    return x


def run_mp(devices: list[str], workers: int, tasks: int, kwargs: dict, fn=_mp_train) -> list:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    for i in range(workers):
        queue.put(devices[i % len(devices)])
    items = [dict(kwargs, seed=s) for s in range(tasks)] if fn is _mp_train else list(range(tasks))
    with ctx.Pool(workers, initializer=_mp_init, initargs=(queue,)) as pool:
        results = pool.map(fn, items, chunksize=1)
        pool.close()
        pool.join()
    return results


# ---- pool and run ------------------------------------------------------------------------------------------

def pool_train(**kwargs) -> dict:
    return mlp_train.train(**kwargs)


def run_pool(options: dict, workers: int, tasks: int, kwargs: dict, trivial: bool = False) -> list:
    with migctl.Pool(workers=workers, progress=False, **options) as pool:
        if trivial:
            results = pool.map(_mp_trivial, range(tasks))
        else:
            results = pool.map(pool_train, [dict(kwargs, seed=s) for s in range(tasks)])
    assert pool.returncode == 0, pool.returncode
    return results


def dispatch(devices: list[str], pool_options: dict, workers: int, tasks: int, rounds: int) -> None:
    """Per-task overhead: `tasks` calls of a function that returns its argument, Pool against mp."""
    walls: dict[str, list[float]] = {"mp": [], "pool": []}
    for _ in range(rounds):
        for name in walls:
            start = time.perf_counter()
            results = (run_mp(devices, workers, tasks, {}, _mp_trivial) if name == "mp"
                       else run_pool(pool_options, workers, tasks, {}, trivial=True))
            walls[name].append(time.perf_counter() - start)
            assert results == list(range(tasks))
    med = {n: statistics.median(v) for n, v in walls.items()}
    print(f"\n{tasks} trivial tasks on {workers} workers (start and stop included), medians of {rounds}")
    for n, v in med.items():
        print(f"{n:>9} {v:8.2f} s {v / tasks * 1e6:8.0f} us/task {v / med['mp']:6.2f}x")


def run_run(global_args: list[str], run_args: list[str], workers: int, tasks: int, train_text: str) -> list[dict]:
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.jsonl")
        argv = [MIGCTL, *global_args, "run", "--workers", str(workers), *run_args, "--param",
                f"seed={','.join(map(str, range(tasks)))}", "--results", out, "--",
                sys.executable, str(REPO / "tools" / "device" / "mlp_train.py"), *shlex.split(train_text),
                "--seed", "{seed}"]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return [json.loads(line)["output"] for line in open(out)]


class Mps:
    """An MPS daemon of our own for the hand-written pool (migctl run and Pool start theirs)."""

    def __enter__(self) -> "Mps":
        self.dir = tempfile.mkdtemp(prefix="bench-mps-")
        self.env = {"CUDA_MPS_PIPE_DIRECTORY": f"{self.dir}/pipe", "CUDA_MPS_LOG_DIRECTORY": f"{self.dir}/log"}
        for path in self.env.values():
            os.makedirs(path)
        os.environ.update(self.env)
        subprocess.run(["nvidia-cuda-mps-control", "-d"], check=True)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["nvidia-cuda-mps-control"], input=b"quit\n", check=False)
        time.sleep(1)
        for key in self.env:
            os.environ.pop(key, None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sim", action="store_true", help="a simulated H100 split into W MIG devices")
    p.add_argument("--share", choices=["none", "mps"], help="all workers on the whole GPU 0 (MIG off)")
    p.add_argument("--workers", type=int, default=7)
    p.add_argument("--tasks", default="7,28")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--train", default="", help="mlp_train.py options, e.g. '--epochs 2 --width 256'")
    p.add_argument("--json", help="also write every measurement here")
    p.add_argument("--trivial", type=int, default=0, help="then N trivial tasks, Pool against mp only")
    a = p.parse_args()
    kwargs = train_kwargs(a.train)
    work = tempfile.mkdtemp(prefix="bench-pool-")
    global_args: list[str] = []
    if a.sim:
        state = os.path.join(work, "h100.json")
        subprocess.run([MIGCTL, "sim", "init", state, "h100-80gb:1"], check=True, stdout=subprocess.DEVNULL)
        profile = {1: "7g.80gb", 2: "3g.40gb", 3: "2g.20gb"}.get(a.workers, "1g.10gb")
        subprocess.run([MIGCTL, "--sim", state, "mode", "enable", "-i", "0"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([MIGCTL, "--sim", state, "create", "-i", "0", *[profile] * a.workers], check=True,
                       stdout=subprocess.DEVNULL)
        global_args = ["--sim", state]
        pool_options: dict = {"sim": state, "profile": profile}
        run_args = ["--profile", profile]
        (gpu,) = migctl.status(sim=state)
        devices = [i.uuid for i in gpu.instances]
    else:
        share = a.share or "none"
        pool_options = {"share": share, "gpus": 0}
        run_args = ["-i", "0", "--share", share]
        (gpu, *_) = migctl.status()
        devices = [gpu.uuid]

    rows: list[dict] = []
    for round_ in range(a.rounds):
        for tasks in map(int, a.tasks.split(",")):
            for name in ("run", "mp", "pool"):
                start = time.perf_counter()
                if name == "run":
                    results = run_run(global_args, run_args, a.workers, tasks, a.train)
                elif name == "mp":
                    if a.share == "mps":
                        with Mps():
                            results = run_mp(devices, a.workers, tasks, kwargs)
                    else:
                        results = run_mp(devices, a.workers, tasks, kwargs)
                else:
                    results = run_pool(pool_options, a.workers, tasks, kwargs)
                wall = time.perf_counter() - start
                assert len(results) == tasks, (name, len(results))
                processes = len({r["pid"] for r in results})
                rows.append({"round": round_ + 1, "tasks": tasks, "contender": name, "wall_s": round(wall, 3),
                             "processes": processes,
                             "train_s_median": statistics.median(r["train_s"] for r in results)})
                print(json.dumps(rows[-1]), flush=True)
    if a.json:
        Path(a.json).write_text("".join(json.dumps(r) + "\n" for r in rows))

    print(f"\n{a.workers} workers, {'simulated MIG, CPU torch' if a.sim else 'GPU share ' + (a.share or 'none')}, "
          f"train {a.train or '(defaults)'}; medians of {a.rounds} round(s)")
    print(f"{'tasks':>5} {'contender':>9} {'wall s':>8} {'vs mp':>7} {'processes':>9}")
    for tasks in map(int, a.tasks.split(",")):
        med = {n: statistics.median(r["wall_s"] for r in rows if r["tasks"] == tasks and r["contender"] == n)
               for n in ("run", "mp", "pool")}
        for n, v in med.items():
            procs = next(r["processes"] for r in rows if r["tasks"] == tasks and r["contender"] == n)
            print(f"{tasks:5} {n:>9} {v:8.2f} {v / med['mp']:6.2f}x {procs:9}")
        print(f"{'':5} {'pool/run':>9} {med['pool'] / med['run']:8.2f}x")
    if a.trivial:
        dispatch(devices, pool_options, a.workers, a.trivial, a.rounds)


if __name__ == "__main__":
    main()
