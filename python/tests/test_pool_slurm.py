"""Pool(slurm=...) against a real Slurm on 127.0.0.1 (tests/slurm/cluster.sh): two nodes, each a simulated H100
with two 3g.40gb slices; the workers are elements of `migctl run --slurm`'s job array and connect back over TCP."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import migctl
import pool_tasks
from conftest import MIGCTL, REPO, migctl_cmd, wait_for

NODES = ("n1", "n2")


def _slurm_env(cluster: Path) -> dict[str, str]:
    return {"SLURM_CONF": str(cluster / "etc" / "slurm.conf"),
            "PATH": f"{os.path.dirname(MIGCTL)}:{os.environ.get('PATH', '/usr/bin:/bin')}"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Path]:
    if os.geteuid() != 0 or not all(os.access(p, os.X_OK) for p in ("/usr/sbin/slurmctld", "/usr/sbin/munged")):
        reason = "needs root and slurmctld, slurmd, slurm-client and munge (./dev.sh installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    # Not under pytest's 0700 tmp_path: munged wants every directory above its socket searchable by all.
    directory = Path(tempfile.mkdtemp(prefix="migctl-pool-slurm-"))
    for seed, node in enumerate(NODES):
        state = directory / "nodes" / node / "sim.json"
        state.parent.mkdir(parents=True)
        migctl_cmd("sim", "init", str(state), "h100-80gb:1", "--seed", str(200 + seed))
        migctl_cmd("--sim", str(state), "mode", "enable", "-i", "0")
        migctl_cmd("--sim", str(state), "create", "-i", "0", "3g.40gb", "3g.40gb")
    script = str(REPO / "tests" / "slurm" / "cluster.sh")
    env = dict(os.environ, MIGCTL=MIGCTL, **_slurm_env(directory))
    started = subprocess.run(["bash", script, "start", str(directory)], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    saved = {k: os.environ.get(k) for k in ("SLURM_CONF", "PATH")}
    try:
        assert started.returncode == 0, started.stderr + started.stdout
        os.environ.update(_slurm_env(directory))
        yield directory
    finally:
        subprocess.run(["bash", script, "stop", str(directory)], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(directory, ignore_errors=True)


def slices(cluster: Path) -> dict[str, str]:
    """MIG UUID -> node, from each node's simulated machine."""
    out = {}
    for node in NODES:
        (gpu,) = migctl.status(sim=str(cluster / "nodes" / node / "sim.json"))
        out.update({i.uuid: node for i in gpu.instances})
    return out


def queued_jobs() -> list[str]:
    done = subprocess.run(["squeue", "-h", "-o", "%i"], text=True, stdout=subprocess.PIPE, check=True)
    return done.stdout.split()


def test_workers_run_on_the_slices_slurm_allocates_on_every_node(cluster: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    where = slices(cluster)
    with migctl.Pool(profile="3g.40gb", workers=4, slurm=dict(nodes=2, address="127.0.0.1")) as pool:
        assert pool.endpoint.startswith("tcp://127.0.0.1:")
        ready = pool.wait_ready(timeout=60)
        assert sorted(w.index for w in ready) == [0, 1, 2, 3]
        assert {w.device for w in ready} == set(where)  # one worker per slice of the cluster
        assert all(where[w.device] == w.node for w in ready)  # each on the node that has its slice
        results = pool.map(pool_tasks.whoami, range(12))
        secrets = pool.map(pool_tasks.environment, [["MIGCTL_POOL_TOKEN", "MIGCTL_POOL_TOKEN_FILE"]] * 4)
        (spool,) = tmp_path.iterdir()
        (key,) = spool.glob("pool-*.key")  # the key reaches the nodes in the private spool, not in the job's env
        assert key.stat().st_mode & 0o777 == 0o600 and spool.stat().st_mode & 0o777 == 0o700
    assert all(v is None for env in secrets for v in env.values())  # and no task sees it
    assert [r["value"] for r in results] == list(range(12))
    assert {r["cuda"] for r in results} <= set(where)
    assert all(r["cuda"] == r["device"] for r in results)
    # Persistent: the 12 tasks ran in the 4 workers' processes (how many of them got one depends on timing).
    assert {r["pid"] for r in results} <= {w.pid for w in ready}
    assert pool.returncode == 0 and pool.summary is not None and pool.summary["succeeded"] == 4
    assert pool.summary["job"] and pool.summary["job"] not in queued_jobs()
    assert list(tmp_path.iterdir()) == []  # the pool's spool is gone after a clean close


def test_a_worker_that_dies_on_a_node_is_replaced_on_its_slice(cluster: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    flag = str(tmp_path / "died")
    with migctl.Pool(profile="3g.40gb", workers=2, retries=1, slurm=dict(address="127.0.0.1")) as pool:
        pool.wait_ready(timeout=60)
        assert pool.submit(pool_tasks.die_once, flag, "kill").result(timeout=60) != int(open(flag).read())
        ready = pool.wait_ready(timeout=60)  # the killed one's slot has a new worker again
        results = pool.map(pool_tasks.whoami, range(4))
    assert sorted(w.index for w in ready) == [0, 1]
    assert max(r["attempt"] for r in results) == 2
    assert sorted(r["task"] for r in pool.results) == [1, 2] and all(r["status"] == "ok" for r in pool.results)


def test_a_timed_out_task_ends_its_worker_on_the_node_and_the_slot_is_refilled(
        cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with migctl.Pool(profile="3g.40gb", workers=1, slurm=dict(address="127.0.0.1")) as pool:
        (first,) = pool.wait_ready(timeout=60)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            pool.map(pool_tasks.whoami, [dict(sleep=60)], timeout=1)
        after = pool.submit(pool_tasks.whoami).result(timeout=60)
        assert time.monotonic() - started < 30
    assert after["attempt"] == 2 and after["pid"] != first.pid and after["device"] == first.device


def test_terminate_cancels_the_array(cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    pool = migctl.Pool(profile="3g.40gb", workers=2, slurm=dict(address="127.0.0.1"))
    pool.wait_ready(timeout=60)
    running = pool.submit(pool_tasks.whoami, sleep=120)
    assert wait_for(lambda: pool._counts().running == 1, 10)
    pool.terminate()
    with pytest.raises(migctl.PoolError):
        running.result(timeout=1)
    assert pool.summary is not None and pool.summary["job"] not in queued_jobs()
    assert wait_for(lambda: not subprocess.run(["pgrep", "-f", pool.endpoint], stdout=subprocess.DEVNULL).returncode
                    == 0, 10)


def test_slurm_pools_refuse_this_hosts_device_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="create, ephemeral choose this host's devices"):
        migctl.Pool(profile="3g.40gb", workers=2, create=True, ephemeral=True, slurm={})
    with pytest.raises(ValueError, match="does not take nodez"):
        migctl.Pool(profile="3g.40gb", workers=2, slurm=dict(nodez=2))
    with pytest.raises(ValueError, match="needs workers= and profile="):
        migctl.Pool(profile="3g.40gb", slurm={})
    assert list(tmp_path.iterdir()) == []  # a refused pool leaves no spool behind
