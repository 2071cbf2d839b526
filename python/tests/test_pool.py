"""Pool: persistent workers pinned to the simulated machine's MIG devices, through one `migctl run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import migctl
import migctl._serialize
import pool_tasks
from conftest import REPO, processes_mentioning


def layout_uuids(state: str) -> set[str]:
    return {i.uuid for gpu in migctl.status(sim=state) for i in gpu.instances if i.uuid}


def test_map_returns_results_in_order_and_dicts_are_keyword_arguments(machine: str) -> None:
    with migctl.Pool(profile="3g.40gb", workers=2, sim=machine) as pool:
        assert pool.map(pool_tasks.square, range(8)) == [x * x for x in range(8)]
        assert pool.map(pool_tasks.square, [dict(x=3), dict(x=4, sleep=0.01)]) == [9, 16]
        assert pool.starmap(pool_tasks.square, [(5,), (6, 0.0)]) == [25, 36]
        assert list(pool.imap(pool_tasks.square, [3, 1, 2])) == [9, 1, 4]


def test_imap_unordered_streams_results_as_they_finish(machine: str) -> None:
    with migctl.Pool(profile="3g.40gb", workers=2, sim=machine) as pool:
        items = [dict(value="slow", sleep=0.8), dict(value="fast", sleep=0.0)]
        order = [r["value"] for r in pool.imap_unordered(pool_tasks.whoami, items)]
        assert order == ["fast", "slow"]


def test_submit_returns_a_future(machine: str) -> None:
    with migctl.Pool(profile="3g.40gb", workers=2, sim=machine) as pool:
        future = pool.submit(pool_tasks.square, 7, sleep=0.05)
        assert future.result(timeout=20) == 49
        assert future.done() and future.exception() is None


def test_each_task_sees_its_workers_mig_device(machine: str) -> None:
    uuids = layout_uuids(machine)
    with migctl.Pool(profile="3g.40gb", workers=2, sim=machine) as pool:
        results = pool.map(pool_tasks.whoami, [dict(value=i, sleep=0.2) for i in range(6)])
    for r in results:
        assert r["cuda"] == r["device"]
        assert r["device"] in uuids
    assert {r["device"] for r in results} == uuids  # both slices worked


def test_workers_are_persistent_and_initialized_once(machine: str) -> None:
    with migctl.Pool(profile="3g.40gb", workers=2, sim=machine,
                     initializer=pool_tasks.init, initargs=("ready",)) as pool:
        pool.wait_ready(timeout=30)  # both connected: a late one would leave the first all ten tasks
        results = pool.map(pool_tasks.whoami, [dict(value=i, sleep=0.05) for i in range(10)])
        workers = pool.workers
    pids = {r["pid"] for r in results}
    assert len(pids) == 2  # ten tasks, two processes
    assert {w.pid for w in workers} == pids
    assert all(r["inits"] == 1 and r["marker"] == "ready" for r in results)


def test_a_tasks_exception_comes_back_with_the_workers_traceback(machine: str) -> None:
    with migctl.Pool(profile="3g.40gb", workers=1, sim=machine) as pool:
        with pytest.raises(ValueError, match="bad input") as caught:
            pool.submit(pool_tasks.fail, "bad input").result()
        cause = caught.value.__cause__
        assert isinstance(cause, migctl.RemoteTraceback)
        assert "pool_tasks.py" in cause.text and "in fail" in cause.text
        assert pool.submit(pool_tasks.square, 3).result() == 9  # the worker survives its task's exception


def test_a_lambda_travels_by_value_with_cloudpickle(machine: str) -> None:
    if not migctl._serialize.have_cloudpickle():
        pytest.skip("cloudpickle is not installed")
    offset = 40
    with migctl.Pool(profile="3g.40gb", workers=1, sim=machine) as pool:
        assert pool.map(lambda x: x + offset, [1, 2]) == [41, 42]


def test_a_lambda_without_cloudpickle_fails_clearly(machine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migctl._serialize, "_cloudpickle", None)
    with migctl.Pool(profile="3g.40gb", workers=1, sim=machine) as pool:
        with pytest.raises(TypeError, match="cloudpickle"):
            pool.submit(lambda: 1)
        assert pool.submit(pool_tasks.square, 2).result() == 4


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_a_dead_workers_task_fails_and_the_worker_is_replaced(machine: str, tmp_path: Path, how: str) -> None:
    with migctl.Pool(profile="3g.40gb", workers=2, sim=machine) as pool:
        pool.wait_ready(timeout=30)
        before = {r["pid"] for r in pool.map(pool_tasks.whoami, [dict(sleep=0.3)] * 2)}
        flag = str(tmp_path / "died")
        with pytest.raises(migctl.WorkerLost, match="died while running the task"):
            pool.submit(pool_tasks.die_once, flag, how).result(timeout=30)
        dead_pid = int(Path(flag).read_text())
        pool.wait_ready(timeout=30)  # the replacement has connected
        results = pool.map(pool_tasks.whoami, [dict(sleep=0.5)] * 2)
        assert len({r["pid"] for r in results}) == 2  # two workers again
        assert dead_pid not in {r["pid"] for r in results}
        assert dead_pid in before
        assert max(r["attempt"] for r in results) == 2  # migctl run started the replacement


def test_retries_give_a_dead_workers_task_to_another_worker(machine: str, tmp_path: Path) -> None:
    flag = str(tmp_path / "died")
    with migctl.Pool(profile="3g.40gb", workers=2, sim=machine, retries=1) as pool:
        pid = pool.submit(pool_tasks.die_once, flag, "kill").result(timeout=30)
        assert pid != int(Path(flag).read_text())
        with pytest.raises(migctl.WorkerLost):  # dies on every attempt: one retry, then it fails
            pool.submit(pool_tasks.die).result(timeout=30)
        assert pool.map(pool_tasks.square, [1, 2, 3]) == [1, 4, 9]


def test_two_pools_never_share_a_slice(machine: str) -> None:
    records: list[tuple[str, float, float]] = []
    first = migctl.Pool(profile="3g.40gb", workers=2, sim=machine)
    try:
        records += [(r["device"], r["start"], r["end"])
                    for r in first.map(pool_tasks.whoami, [dict(sleep=0.2)] * 2)]
        second_results: list[dict] = []
        second = threading.Thread(target=lambda: second_results.extend(_run_second_pool(machine)))
        second.start()
        records += [(r["device"], r["start"], r["end"])
                    for r in first.map(pool_tasks.whoami, [dict(sleep=0.5)] * 4)]
    finally:
        first.close()
    first_closed = time.time()
    second.join(60)
    assert len(second_results) == 2
    assert min(r["start"] for r in second_results) >= first_closed - 0.5  # it waited for the leases
    records += [(r["device"], r["start"], r["end"]) for r in second_results]
    for uuid in {d for d, _, _ in records}:
        spans = sorted((s, e) for d, s, e in records if d == uuid)
        assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))


def _run_second_pool(machine: str) -> list[dict]:
    with migctl.Pool(profile="3g.40gb", workers=2, sim=machine) as pool:
        return pool.map(pool_tasks.whoami, [dict(sleep=0.1)] * 2)


def test_map_timeout_raises_and_frees_the_workers(machine: str) -> None:
    with migctl.Pool(profile="3g.40gb", workers=2, sim=machine) as pool:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            pool.map(pool_tasks.square, [dict(x=1, sleep=30)] * 3, timeout=0.5)
        assert time.monotonic() - started < 5
        assert pool.map(pool_tasks.square, [2, 3], timeout=20) == [4, 9]  # replaced workers serve again


def test_close_leaves_no_worker_process(machine: str) -> None:
    pool = migctl.Pool(profile="3g.40gb", workers=2, sim=machine)
    assert pool.map(pool_tasks.square, [1, 2]) == [1, 4]
    assert len(processes_mentioning(pool.endpoint)) >= 3  # migctl run and two workers
    pool.close()
    assert processes_mentioning(pool.endpoint) == []
    assert pool.returncode == 0 and pool.summary is not None and pool.summary["succeeded"] == 2


def test_terminate_stops_every_worker(machine: str) -> None:
    pool = migctl.Pool(profile="3g.40gb", workers=2, sim=machine, grace=1)
    futures = [pool.submit(pool_tasks.square, 1, sleep=60) for _ in range(3)]
    time.sleep(1.0)
    with pytest.raises(KeyboardInterrupt):
        with pool:
            raise KeyboardInterrupt  # as Ctrl-C inside the with block
    assert processes_mentioning(pool.endpoint) == []
    assert all(f.done() for f in futures)
    with pytest.raises(migctl.PoolError):
        pool.submit(pool_tasks.square, 1)


def test_create_and_ephemeral_remove_the_instances_afterwards(bare_machine: str) -> None:
    with migctl.Pool(profile="3g.40gb", workers=2, create=True, ephemeral=True, sim=bare_machine) as pool:
        pool.wait_ready(timeout=30)  # --create has made the instances before any worker starts
        during = layout_uuids(bare_machine)
        results = pool.map(pool_tasks.whoami, [dict(sleep=0.1)] * 4)
    assert len(during) == 2 and {r["device"] for r in results} <= during
    (gpu,) = migctl.status(sim=bare_machine)
    assert gpu.instances == []


def test_an_initializer_that_fails_breaks_the_pool(machine: str) -> None:
    with pytest.raises(migctl.PoolError, match="initializer failed"):
        with migctl.Pool(profile="3g.40gb", workers=1, sim=machine,
                         initializer=pool_tasks.fail, initargs=("no setup",)) as pool:
            pool.submit(pool_tasks.square, 2).result(timeout=30)


def test_a_bad_profile_fails_with_migctls_message(machine: str) -> None:
    with pytest.raises(migctl.MigctlError):
        migctl.Pool(profile="9g.99gb", sim=machine)


def test_without_workers_the_pool_uses_every_matching_device(machine: str) -> None:
    with migctl.Pool(profile="3g.40gb", sim=machine) as pool:
        assert pool.size == 2
        ready = pool.wait_ready(timeout=30)
        assert {w.device for w in ready} == layout_uuids(machine)
        assert all(w.profile == "3g.40gb" and w.gpu == 0 and w.attempt == 1 for w in ready)


def test_worker_info_outside_a_worker_says_so() -> None:
    with pytest.raises(RuntimeError, match="not inside a migctl worker"):
        migctl.worker_info()


def test_ctrl_c_stops_every_workers_tree(machine: str) -> None:
    script = Path(__file__).with_name("ctrl_c_script.py")
    env = dict(os.environ, PYTHONPATH=str(Path(migctl.__file__).parent.parent))
    child = subprocess.Popen([sys.executable, str(script), machine], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        endpoint, *grandchildren = child.stdout.readline().split()
        assert len(grandchildren) == 2 and all(_alive(int(pid)) for pid in grandchildren)
        time.sleep(0.3)
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=30) != 0  # KeyboardInterrupt
    finally:
        child.kill()
    assert processes_mentioning(endpoint) == []
    assert not any(_alive(int(pid)) for pid in grandchildren)


def test_shared_whole_gpu_workers(bare_machine: str) -> None:
    (gpu,) = migctl.status(sim=bare_machine)
    with migctl.Pool(share="none", workers=2, sim=bare_machine) as pool:
        pool.wait_ready(timeout=30)
        results = pool.map(pool_tasks.whoami, [dict(sleep=0.3)] * 2)
        assert {w.profile for w in pool.wait_ready(timeout=30)} == {"gpu"}
    assert {r["device"] for r in results} == {gpu.uuid} and len({r["pid"] for r in results}) == 2


def test_mps_workers_share_the_gpu_through_runs_own_daemon(bare_machine: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGCTL_MPS_CONTROL", str(REPO / "tests" / "fixtures" / "fake-mps-control"))
    (gpu,) = migctl.status(sim=bare_machine)
    keys = ("CUDA_VISIBLE_DEVICES", "CUDA_MPS_PIPE_DIRECTORY", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE")
    with migctl.Pool(share="mps", workers=3, mps_threads="auto", sim=bare_machine) as pool:
        assert {w.profile for w in pool.wait_ready(timeout=30)} == {"gpu"}
        seen = pool.map(pool_tasks.environment, [list(keys)] * 6)
    assert {e["CUDA_VISIBLE_DEVICES"] for e in seen} == {gpu.uuid}
    (pipe,) = {e["CUDA_MPS_PIPE_DIRECTORY"] for e in seen}  # one daemon for the pool's workers
    assert {e["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] for e in seen} == {"33"}  # auto: 100 / 3 workers
    assert pool.returncode == 0 and not os.path.exists(pipe)  # the daemon was quit and its directory removed


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_when_migctl_run_refuses_the_pool_says_why(machine: str) -> None:
    with migctl.Pool(profile="9g.99gb", workers=2, sim=machine) as pool:
        with pytest.raises(migctl.PoolError, match="9g.99gb"):
            pool.wait_ready(timeout=30)
        with pytest.raises(migctl.PoolError):
            pool.submit(pool_tasks.square, 1)
    assert pool.returncode == 2
