"""The scripts of examples/python (PyTorch on the CPU here) run against a fresh simulated H100 and print the
results they promise."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import migctl
from conftest import PYTHON_DIR, REPO, migctl_cmd

EXAMPLES = REPO / "examples" / "python"


if importlib.util.find_spec("torch") is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("the examples need PyTorch (python3-torch; ./dev.sh installs it)")
    pytest.skip("the examples need PyTorch (python3-torch; ./dev.sh installs it)", allow_module_level=True)


def run_example(name: str, tmp_path: Path) -> list[dict]:
    state = str(tmp_path / "h100.json")
    migctl_cmd("sim", "init", state, "h100-80gb:1")  # MIG off: the example's Pool(create=True) enables it
    env = dict(os.environ, MIGCTL_SIM=state, PYTHONPATH=str(PYTHON_DIR))
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], env=env, cwd=tmp_path, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert done.returncode == 0, done.stderr
    (gpu,) = migctl.status(sim=state)
    assert gpu.instances == []  # ephemeral=True removed what the example created
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_two_independent_trainings_run_on_two_3g_slices(tmp_path: Path) -> None:
    results = run_example("train_two_slices.py", tmp_path)
    assert sorted(r["seed"] for r in results) == [1, 2]
    assert len({r["device"] for r in results}) == 2
    assert all(r["device"].startswith("MIG-") and r["acc"] > 0.8 for r in results)
    assert {r["torch_device"] for r in results} == {"cpu"}  # no CUDA on the simulator


def test_seven_evaluations_run_on_seven_1g_slices(tmp_path: Path) -> None:
    workers, *results, summary = run_example("evaluate_seven.py", tmp_path)
    assert len(set(workers["workers"])) == 7  # seven workers, one slice each, before any evaluation
    assert [r["shard"] for r in results] == list(range(7))
    assert all(r["profile"] == "1g.10gb" and r["acc"] > 0.8 for r in results)
    assert {r["device"] for r in results} <= set(workers["workers"])
    assert summary["mean_acc"] == round(sum(r["acc"] for r in results) / 7, 3)


def test_the_sweep_picks_the_best_configuration(tmp_path: Path) -> None:
    *results, last = run_example("sweep_best.py", tmp_path)
    assert len(results) == 6
    assert {(r["epochs"], r["lr"]) for r in results} == {(e, lr) for e in (5, 200) for lr in (1e-4, 1e-3, 1e-2)}
    assert last["best"]["acc"] == max(r["acc"] for r in results) > 0.85
    assert last["best"] in results and last["best"]["epochs"] == 200
    assert len({r["pid"] for r in results}) <= 2  # six trainings on two persistent workers
