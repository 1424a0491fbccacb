"""A failing check's witness as per-client lanes over the fault windows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from syncbench.history import History
from syncbench.review.witness import witness_operations, witness_timeline, write_witness_page


def failing_check() -> dict:
    history = History()
    history.invoke("c0", "create", content="a").ok(task_id="t1", version=1)
    history.invoke("c1", "update", task_id="t1").fail("HTTP 503: storage_unavailable")
    lost = history.operations[0].to_dict()
    return {"name": "no_lost_acknowledged_writes", "passed": False, "verdict": "fail",
            "message": "1 lost",
            "counterexample": [{"why": "lost", "ops": [lost, history.operations[1].to_dict()]},
                               lost]}  # an op named twice is drawn once


def test_the_witness_ops_are_found_wherever_the_entries_hold_them() -> None:
    ops = witness_operations(failing_check())
    assert [(op["client"], op["operation"]) for op in ops] == [("c0", "create"),
                                                              ("c1", "update")]


def test_each_client_gets_a_lane_and_the_hover_names_op_attempts_and_error() -> None:
    check = failing_check()
    at = witness_operations(check)[0]["invoke_time"]
    windows = pd.DataFrame([
        {"fault": "crash", "target": "server", "profile": "crash",
         "start": pd.Timestamp(at, unit="s", tz="UTC"),
         "end": pd.Timestamp(at + 1, unit="s", tz="UTC")},
        {"fault": "pause", "target": "server", "profile": "pause",  # far away: not drawn
         "start": pd.Timestamp(at + 600, unit="s", tz="UTC"),
         "end": pd.Timestamp(at + 601, unit="s", tz="UTC")}])
    figure = witness_timeline(check, windows)
    lanes = {trace.name: list(trace.y) for trace in figure.data}
    assert lanes == {"ok": ["c0"], "fail": ["c1"]}
    failed = figure.data[1]
    assert failed.customdata[0][1] == "update" and "storage_unavailable" in failed.customdata[0][3]
    assert "attempts %{customdata[2]}" in failed.hovertemplate
    assert len(figure.layout.shapes) == 1  # the nearby crash window only


def test_the_page_is_written_for_checks_with_operations_only(tmp_path: Path) -> None:
    page = write_witness_page(tmp_path, "sync", [failing_check()], None)
    assert page == tmp_path / "sync.counterexamples.html"
    text = page.read_text()
    assert "id='no_lost_acknowledged_writes'" in text and "Plotly.newPlot" in text
    no_ops = {"name": "feed", "passed": False, "counterexample": [{"why": "no op here"}]}
    assert write_witness_page(tmp_path, "sync", [no_ops], None) is None
    assert not page.exists()  # a stale page from an earlier run is not left behind
