"""Finding the migctl binary and running its JSON interfaces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any, Optional, Sequence


class MigctlError(RuntimeError):
    """migctl could not be found, or a migctl command failed (its message is in the text)."""


def find_binary(explicit: Optional[str] = None) -> str:
    """The migctl executable: `explicit`, else $MIGCTL_BIN, else `migctl` on PATH."""
    candidate = explicit or os.environ.get("MIGCTL_BIN")
    if candidate:
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            raise MigctlError(f"migctl binary {candidate!r} is not an executable file")
        return os.path.abspath(candidate)
    found = shutil.which("migctl")
    if found is None:
        raise MigctlError("migctl not found: put it on PATH or set MIGCTL_BIN to its path")
    return found


def global_options(sim: Optional[str]) -> list[str]:
    """Options that go before the subcommand (--sim STATE); MIGCTL_SIM in the environment also works."""
    return ["--sim", os.path.abspath(sim)] if sim else []


def run_json(args: Sequence[str], *, sim: Optional[str] = None, binary: Optional[str] = None) -> Any:
    """Runs `migctl [--sim S] --json ARGS` and returns its parsed JSON document; MigctlError if it fails."""
    argv = [find_binary(binary), *global_options(sim), "--json", *args]
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        message = done.stderr.strip() or f"exit status {done.returncode}"
        raise MigctlError(f"{' '.join(argv)}: {message}")
    return json.loads(done.stdout)
