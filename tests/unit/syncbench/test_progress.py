"""The live progress line: operations done, ETA and outcome counts, in a kernel only."""

from __future__ import annotations

import io

import pytest

from syncbench import charts, progress
from syncbench.history import History


def test_it_counts_the_outcomes_the_history_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    history = History()
    history.invoke("c0", "create").ok()  # before the phase: not counted
    out = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", out)
    with progress.live_progress("lan: workload", 3, history, show=True) as bar:
        history.invoke("c0", "create").ok()
        bar.advance()
        history.invoke("c1", "update").fail("HTTP 503")
        history.invoke("c1", "read").info("timed out")
        bar.advance(2)
        assert bar.outcomes == {"ok": 1, "fail": 1, "info": 1}
    line = out.getvalue().split("\r")[-1]
    assert "lan: workload" in line and "3/3" in line and "ok=1, fail=1, info=1" in line


def test_nothing_is_drawn_outside_an_interactive_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not progress.interactive()  # pytest is no kernel
    monkeypatch.setenv(charts.STATIC_CHARTS_ENV, "1")  # nor is a kernel the runner started
    assert not progress.interactive()
    out = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", out)
    with progress.live_progress("quiet", 2) as bar:
        bar.advance(2)
    assert out.getvalue() == ""
