"""What a sweep reports from its instances: the verdict, the failure rate per cell, each
failing check's seeds with the replay of the first, the progress line and the page."""

from __future__ import annotations

from pathlib import Path

from syncbench.sweep.page import sweep_html
from syncbench.sweep.progress import SweepProgress
from syncbench.sweep.report import (
    Finished,
    cell_rows,
    check_rows,
    checks_with,
    replay_command,
    sweep_verdict,
)

CELLS = [{"threshold": 1.0}, {"threshold": 3.0}]


def done(index: int, cell: int, seed: int, status: str, failed: tuple[str, ...] = (),
         unknown: tuple[str, ...] = (), reason: str = "") -> Finished:
    run = f"runs/cell-{cell}-seed-{seed}"
    return Finished(index, cell, seed, status, 2.0, failed, unknown, reason, run,
                    f"{run}/seedy.summary.json")


FINISHED = [done(0, 0, 1, "pass"), done(1, 1, 1, "pass"),
            done(2, 0, 2, "fail", ("value below threshold",)), done(3, 1, 2, "pass"),
            done(4, 0, 3, "pass"), done(5, 1, 3, "error", reason="kernel died"),
            done(6, 0, 4, "fail", ("value below threshold",))]


def test_the_failure_rate_is_per_cell_over_the_runs_that_came_to_a_verdict() -> None:
    rows = cell_rows(CELLS, FINISHED, planned_per_cell=4)
    first, second = rows
    assert (first["label"], first["finished"], first["pass"], first["fail"]) == (
        "threshold=1.0", 4, 2, 2)
    assert first["failure_rate"] == 0.5 and first["failing_seeds"] == [2, 4]
    assert (second["finished"], second["error"], second["failure_rate"]) == (3, 1, 0.0)


def test_a_failing_check_lists_its_seeds_and_replays_the_first(tmp_path: Path) -> None:
    [row] = check_rows(CELLS, FINISHED, tmp_path, "notebooks")
    assert (row["check"], row["cell"], row["seeds"], row["first_seed"]) == (
        "value below threshold", 0, [2, 4], 2)
    assert row["replay"] == (f"syncbench run --replay "
                             f"{tmp_path}/runs/cell-0-seed-2/seedy.summary.json")
    assert replay_command(Path("/o"), "runs/seed-2/s.summary.json", "tests/nb") == (
        "syncbench run --replay /o/runs/seed-2/s.summary.json --notebooks tests/nb")


def test_the_verdict_puts_failures_before_errors_and_says_how_often() -> None:
    status, text = sweep_verdict(FINISHED, planned=8, interrupted=False)
    assert status == "interrupted" and "interrupted after 7 of 8 runs" in text
    status, text = sweep_verdict(FINISHED, planned=7, interrupted=False)
    assert status == "fail"
    assert text.startswith("2 of 7 runs failed a check (29%; first failing seed 2)")
    assert "1 could not run or timed out" in text
    assert sweep_verdict(FINISHED[:2], 2, False) == ("pass", "all 2 runs passed")
    assert sweep_verdict([FINISHED[5]], 1, False)[0] == "error"
    unknown = done(0, 0, 1, "unknown", unknown=("faults_bite",))
    assert sweep_verdict([unknown], 1, False)[0] == "unknown"
    assert sweep_verdict(FINISHED[:2], 4, False, running=True) == (
        "running", "2 of 4 runs finished; all 2 runs passed")
    assert sweep_verdict([], 4, True) == ("interrupted",
                                          "no run finished; interrupted after 0 of 4 runs")


def test_checks_are_read_from_a_study_summary() -> None:
    summary = {"checks": [{"name": "a", "verdict": "fail"}, {"name": "b", "verdict": "pass"},
                          {"name": "c", "verdict": "unknown"}]}
    assert checks_with(summary, "fail") == ("a",)
    assert checks_with(summary, "unknown") == ("c",)
    assert checks_with(None, "fail") == ()


def test_progress_counts_failures_and_estimates_what_is_left() -> None:
    now = [0.0]
    progress = SweepProgress(planned=7, parallel=2, clock=lambda: now[0])
    now[0] = 4.0
    line = progress.line(FINISHED[2], "threshold=1.0")
    assert line == ("  seed 2 [threshold=1.0]: FAIL by value below threshold (2.0 s; "
                    "1/7 done, 1 failed, 0:04 elapsed, ETA ~0:06)")
    assert "ERROR: kernel died" in progress.line(FINISHED[5])
    assert "1 not passed" in progress.timing()


def test_the_page_shows_the_verdict_first_and_escapes_what_it_shows(tmp_path: Path) -> None:
    document = {
        "status": "fail", "text": "2 of 7 runs failed <a check>",
        "run": {"run_id": "r1", "study": "seedy", "params_file": None, "seeds": [1, 2, 3, 4],
                "finished": 7, "planned": 8, "ray": {"address": "local", "nodes": 1,
                                                     "cpus": 2.0},
                "parallel": 2, "duration_s": 10.0, "instances_total_s": 14.0,
                "git": {"revision": "abc"}},
        "cells": cell_rows(CELLS, FINISHED, 4),
        "checks": check_rows(CELLS, FINISHED, tmp_path, "notebooks"),
        "instances": [f.to_dict() for f in FINISHED]}
    page = sweep_html(document)
    assert page.index("FAIL:") < page.index("Failure rate per cell")
    assert "&lt;a check&gt;" in page and "<a check>" not in page
    assert "seeds (1-4)" in page and "1.4x the wall time" in page
    assert 'href="runs/cell-0-seed-2/"' in page
