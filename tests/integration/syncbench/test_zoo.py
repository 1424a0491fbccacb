"""`syncbench zoo` end to end on a stand-in study notebook whose reaction to each bug is
known: caught, missed, error in the matrix; the baseline first; Ctrl-C keeps what finished."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.wait import wait_until

# toy notebooks: the suite's coverage of lib/tasksync has nothing to gain in their processes
pytestmark = pytest.mark.usefixtures("unmeasured_subprocesses")

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = Path(__file__).parent / "zoo_notebooks"
# the stand-in study crashes with the first, catches the second, misses the third
TOY_BUGS = ("ignore_idempotency", "skip_event", "blind_overwrite")


def command(out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "syncbench.cli", "zoo", "--notebooks", str(NOTEBOOKS),
            "--out", str(out), *args]


def test_the_matrix_says_caught_missed_and_error_for_what_each_run_did(tmp_path: Path) -> None:
    result = subprocess.run(command(tmp_path, "--bugs", ",".join(TOY_BUGS)), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr  # not every bug caught
    zoo = json.loads((tmp_path / "zoo.json").read_text())
    outcomes = {cell["bug"]: (cell["outcome"], cell["label"]) for cell in zoo["cells"]}
    assert outcomes == {
        "skip_event": ("caught", "subscribers_saw_every_event"),
        "blind_overwrite": ("missed", "missed: unrelated_check"),
        "ignore_idempotency": ("error", "error"),
    }
    assert zoo["baseline"]["clean"] and zoo["baseline"]["cells"][0]["outcome"] == "pass"
    assert zoo["detection"]["overall"] == {"caught": 1, "run": 3, "rate": 0.3333}
    assert zoo["status"] == "not all caught" and zoo["exit_code"] == 1
    assert zoo["verdict"].startswith("1 of 3 bugs caught")
    assert "missed: blind_overwrite" in zoo["verdict"]
    assert "no study finished: ignore_idempotency" in zoo["verdict"]
    assert zoo["parameters"]["toy"]["seeded_bug"] == ""
    errored = next(c for c in zoo["cells"] if c["bug"] == "ignore_idempotency")
    assert "RuntimeError: the study crashed" in errored["reason"]

    rows = list(csv.DictReader((tmp_path / "zoo.csv").open()))
    assert [row["bug"] for row in rows][0] == "no bug", "the baseline row first"
    assert {row["bug"]: row["catching_checks"] for row in rows}["skip_event"] == (
        "subscribers_saw_every_event")
    page = (tmp_path / "zoo.html").read_text()
    assert page.index("NOT ALL CAUGHT") < page.index("Plotly.newPlot"), "verdict first"
    assert "<script src=\"http" not in page, "plotly.js inline: works offline"
    for row in ("no-bug", "skip_event", "blind_overwrite", "ignore_idempotency"):
        assert (tmp_path / row / "toy.summary.json").is_file()
        assert (tmp_path / row / "index.html").is_file()
    bug_run = json.loads((tmp_path / "skip_event" / "toy.summary.json").read_text())
    assert bug_run["parameters"]["seeded_bug"] == "skip_event"

    progress = result.stderr
    assert progress.index("[no bug] toy: PASS") < progress.index("[bug 1/3 ignore_idempotency]")
    assert "[bug 2/3 skip_event] toy: CAUGHT by subscribers_saw_every_event" in progress
    assert "ETA ~" in progress


def test_a_false_alarm_without_a_bug_makes_every_catch_doubtful(tmp_path: Path) -> None:
    result = subprocess.run(command(tmp_path, "--bugs", "skip_event", "-p", "baseline_fails=true"),
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    zoo = json.loads((tmp_path / "zoo.json").read_text())
    assert zoo["cells"][0]["outcome"] == "caught"
    assert zoo["status"] == "doubtful" and not zoo["baseline"]["clean"]
    assert "baseline without a bug did not pass in toy (fail: unrelated_check)" in zoo["verdict"]


def test_ctrl_c_writes_what_finished(tmp_path: Path) -> None:
    process = subprocess.Popen(
        command(tmp_path, "--bugs", "skip_event,blind_overwrite", "-p", "hang_on=blind_overwrite"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def skip_event_done() -> bool:
            path = tmp_path / "zoo.json"
            return path.is_file() and any(
                c["bug"] == "skip_event" for c in json.loads(path.read_text())["cells"])

        wait_until(skip_event_done, timeout=90, message="the skip_event run to finish")
        wait_until(lambda: (tmp_path / "blind_overwrite").is_dir(), timeout=30,
                   message="the blind_overwrite run to start")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    zoo = json.loads((tmp_path / "zoo.json").read_text())
    assert zoo["interrupted"] and zoo["status"] == "interrupted"
    assert [(c["bug"], c["outcome"]) for c in zoo["cells"]] == [("skip_event", "caught")]
    assert {b["name"]: b["status"] for b in zoo["bugs"]} == {
        "skip_event": "caught", "blind_overwrite": "incomplete"}
    assert "interrupted; writing what finished" in stderr


def test_a_baseline_is_taken_from_an_earlier_run_of_the_same_parameters_only(
        tmp_path: Path) -> None:
    earlier = tmp_path / "earlier"
    run = subprocess.run([sys.executable, "-m", "syncbench.cli", "run", "toy", "--notebooks",
                          str(NOTEBOOKS), "--out", str(earlier), "--no-progress",
                          "--no-coverage"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    result = subprocess.run(command(tmp_path / "zoo", "--bugs", "skip_event", "--baseline",
                                    str(earlier)),
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"(taken from {earlier})" in result.stderr
    reused = json.loads((tmp_path / "zoo" / "no-bug" / "toy.summary.json").read_text())
    assert reused["reused_from"] == str(earlier / "toy.summary.json")
    assert json.loads((tmp_path / "zoo" / "zoo.json").read_text())["baseline"]["clean"]
    # another parameter than the earlier run had: its baseline is run, and the zoo says why
    other = subprocess.run(command(tmp_path / "other", "--bugs", "skip_event", "--baseline",
                                   str(earlier), "-p", "seed=9"),
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert other.returncode == 0, other.stderr
    assert "(it ran other seed); running it" in other.stderr
    assert "reused_from" not in json.loads(
        (tmp_path / "other" / "no-bug" / "toy.summary.json").read_text())
