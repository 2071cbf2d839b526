"""The pool's progress line: what it says, and that a pool shows it on the stream it is given."""

from __future__ import annotations

import io

import migctl
import pool_tasks
from migctl._progress import Counts, render


def test_render_says_done_failed_running_and_workers() -> None:
    assert render(Counts(submitted=40, succeeded=11, failed=1, running=4, workers=4, size=4)) == (
        "migctl pool: 12/40 done (1 failed), 4 running, 4/4 workers")
    assert render(Counts(submitted=3, size=2)) == "migctl pool: 0/3 done, 0 running, 0/2 workers"


def test_a_pool_shows_its_progress_and_ends_the_line(machine: str) -> None:
    stream = io.StringIO()
    with migctl.Pool(profile="3g.40gb", workers=2, sim=machine, progress=stream) as pool:
        assert pool.map(pool_tasks.square, [dict(x=x, sleep=0.2) for x in range(6)]) == [x * x for x in range(6)]
        try:
            pool.submit(pool_tasks.fail, "boom").result()
        except Exception:
            pass
    text = stream.getvalue()
    assert text.endswith("\n"), text
    assert text.rstrip().split("\r")[-1].startswith("migctl pool: 7/7 done (1 failed), 0 running"), text


def test_stderr_gets_the_line_when_asked_and_not_by_default_off_a_terminal(machine: str, capsys) -> None:
    with migctl.Pool(profile="3g.40gb", workers=1, sim=machine, progress=True) as pool:
        assert pool.map(pool_tasks.square, [2]) == [4]
    assert "migctl pool: 1/1 done, 0 running" in capsys.readouterr().err
    with migctl.Pool(profile="3g.40gb", workers=1, sim=machine) as pool:  # stderr is captured: no terminal
        assert pool.map(pool_tasks.square, [3]) == [9]
    err = capsys.readouterr().err
    assert "migctl pool:" not in err
    assert "1 task on 1 worker" not in err, "run's note about the pool's own workers is not shown"
