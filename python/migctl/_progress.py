"""The pool's progress line: how many tasks are done, failed and running, on how many workers.

Shown on a terminal (or any stream given to Pool(progress=...)), rewritten in place at most every 0.5 s
while tasks are unfinished, and finished with a newline when the pool closes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Optional, TextIO

_INTERVAL_S = 0.5


@dataclass(frozen=True)
class Counts:
    submitted: int = 0
    succeeded: int = 0
    failed: int = 0
    running: int = 0
    workers: int = 0
    size: int = 0


def render(counts: Counts) -> str:
    """`migctl pool: 12/40 done (1 failed), 4 running, 4/4 workers`."""
    done = counts.succeeded + counts.failed
    failed = f" ({counts.failed} failed)" if counts.failed else ""
    return (f"migctl pool: {done}/{counts.submitted} done{failed}, {counts.running} running, "
            f"{counts.workers}/{counts.size} workers")


class ProgressLine:
    """Rewrites `render(counts())` on `stream` every 0.5 s from a daemon thread until close()."""

    def __init__(self, stream: TextIO, counts: Callable[[], Counts]) -> None:
        self._stream = stream
        self._counts = counts
        self._stop = threading.Event()
        self._shown: Optional[str] = None
        self._thread = threading.Thread(target=self._loop, name="migctl-pool-progress", daemon=True)
        self._thread.start()

    def _show(self) -> None:
        text = render(self._counts())
        if text != self._shown:
            pad = max(0, len(self._shown or "") - len(text))
            self._stream.write("\r" + text + " " * pad)
            self._stream.flush()
            self._shown = text

    def _loop(self) -> None:
        while not self._stop.wait(_INTERVAL_S):
            if self._counts().submitted:
                self._show()

    def close(self) -> None:
        """Shows the final counts (when any task was submitted) and ends the line."""
        self._stop.set()
        self._thread.join()
        if self._counts().submitted:
            self._show()
            self._stream.write("\n")
            self._stream.flush()
