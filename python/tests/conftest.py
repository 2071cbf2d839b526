"""Fixtures: the migctl binary (MIGCTL_BIN, else build/migctl of this repository, else PATH) and fresh
simulated machines. The package is imported from the source tree (python/ goes first on sys.path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parent.parent
REPO = PYTHON_DIR.parent
sys.path.insert(0, str(PYTHON_DIR))


def _find_migctl() -> str:
    explicit = os.environ.get("MIGCTL_BIN")
    if explicit:
        return os.path.abspath(explicit)
    built = REPO / "build" / "migctl"
    if built.is_file():
        return str(built)
    found = shutil.which("migctl")
    if found is None:
        pytest.exit("migctl binary not found: set MIGCTL_BIN, build build/migctl or put migctl on PATH", 2)
    return found


MIGCTL = _find_migctl()
os.environ["MIGCTL_BIN"] = MIGCTL  # the package finds it the same way
os.environ.pop("MIGCTL_SIM", None)  # every test names its machine


def migctl_cmd(*args: str) -> str:
    done = subprocess.run([MIGCTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 0, f"migctl {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture
def migctl_bin() -> str:
    return MIGCTL


@pytest.fixture
def bare_machine(tmp_path: Path) -> str:
    """A simulated H100 80GB with MIG off (its leases live beside the state file, private to the test)."""
    state = str(tmp_path / "machine.json")
    migctl_cmd("sim", "init", state, "h100-80gb:1")
    return state


@pytest.fixture
def machine(bare_machine: str) -> str:
    """A simulated H100 80GB with MIG on and two 3g.40gb instances."""
    migctl_cmd("--sim", bare_machine, "mode", "enable", "-i", "0")
    migctl_cmd("--sim", bare_machine, "create", "-i", "0", "3g.40gb", "3g.40gb")
    return bare_machine


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains text (a /proc scan)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(entry))
    return pids


def wait_for(condition: Callable[[], object], seconds: float = 5.0) -> bool:
    """Polls `condition` every 20 ms until it is true or `seconds` have passed; its last value."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not condition():
        time.sleep(0.02)
    return bool(condition())
