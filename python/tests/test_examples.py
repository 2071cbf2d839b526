"""The scripts of examples/python run against a fresh simulated H100 and print the results they promise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import migctl
from conftest import PYTHON_DIR, REPO, migctl_cmd

EXAMPLES = REPO / "examples" / "python"


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
    assert all(r["device"].startswith("MIG-") and r["acc"] > 0.7 for r in results)


def test_seven_evaluations_run_on_seven_1g_slices(tmp_path: Path) -> None:
    *results, summary = run_example("evaluate_seven.py", tmp_path)
    assert [r["shard"] for r in results] == list(range(7))
    assert all(r["profile"] == "1g.10gb" and r["acc"] > 0.7 for r in results)
    assert len({r["device"] for r in results}) == 7  # one slice each
    assert summary["mean_acc"] == round(sum(r["acc"] for r in results) / 7, 3)


def test_the_sweep_picks_the_best_configuration(tmp_path: Path) -> None:
    *results, last = run_example("sweep_best.py", tmp_path)
    assert len(results) == 6
    assert {(r["epochs"], r["lr"]) for r in results} == {(e, lr) for e in (5, 40) for lr in (0.01, 0.1, 1.0)}
    assert last["best"]["acc"] == max(r["acc"] for r in results)
    assert last["best"] in results
