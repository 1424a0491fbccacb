"""`syncbench run --replay`: a study runs again with the parameters, seed and fault schedule
its summary recorded; an unknown verdict is no pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# toy notebooks: the suite's coverage of lib/tasksync has nothing to gain in their processes
pytestmark = pytest.mark.usefixtures("unmeasured_subprocesses")

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = Path(__file__).parent / "replay_notebooks"


def syncbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncbench.cli", "run", "--notebooks", str(NOTEBOOKS),
         "--no-progress", "--no-coverage", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120)


def summary(out: Path) -> dict:
    return json.loads((out / "replaying.summary.json").read_text())


def test_replay_runs_the_recorded_schedule_and_seed(tmp_path: Path) -> None:
    first = syncbench("replaying", "-p", "seed=7", "--out", str(tmp_path / "first"))
    assert first.returncode == 0, first.stderr
    recorded = summary(tmp_path / "first")
    assert recorded["seed"] == 7 and len(recorded["schedule"]) == 4

    again = syncbench("--replay", str(tmp_path / "first" / "replaying.summary.json"),
                      "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    replayed = summary(tmp_path / "again")
    assert replayed["seed"] == 7
    assert replayed["parameters"]["schedule"] == recorded["schedule"]
    assert replayed["schedule"] == recorded["schedule"]

    other_seed = syncbench("replaying", "-p", "seed=8", "--out", str(tmp_path / "other"))
    assert summary(tmp_path / "other")["schedule"] != recorded["schedule"], other_seed.stderr


def test_replay_refuses_what_is_not_a_study_summary(tmp_path: Path) -> None:
    run_summary = tmp_path / "summary.json"
    run_summary.write_text(json.dumps({"run_id": "x", "studies": []}))
    for path, message in ((tmp_path / "absent.json", "no such file"),
                          (run_summary, "not the run's summary.json")):
        result = syncbench("--replay", str(path))
        assert result.returncode == 2
        assert message in result.stderr and "Traceback" not in result.stderr
    result = syncbench("replaying", "other", "--replay", str(run_summary))
    assert result.returncode == 2 and "drop --params and the other study names" in result.stderr


def test_replay_refuses_a_study_name_that_is_not_the_files(tmp_path: Path) -> None:
    path = tmp_path / "replaying.minimal.json"
    path.write_text(json.dumps({"study": "replaying", "seed": 1, "parameters": {}}))
    result = syncbench("other", "--replay", str(path))
    assert result.returncode == 2
    assert "is of study 'replaying', not 'other'" in result.stderr


def test_a_hand_made_minimal_case_replays_and_its_verdict_shows_the_schedule(
        tmp_path: Path) -> None:
    window = {"at": 0.5, "for": 1.25, "fault": "offline", "target": "b"}
    operations = [{"step": 1, "client": "c1", "op": "create", "task_id": "t1"},
                  {"step": 4, "client": "c2", "op": "bad", "task_id": "t1"}]
    minimal = tmp_path / "replaying.minimal.json"
    minimal.write_text(json.dumps({
        "study": "replaying", "seed": 3, "check": "no_bad_operation",
        "parameters": {"seed": 3, "operations": operations, "schedule": [window]},
        "trials": 5, "elapsed_s": 1.0, "complete": True}))

    first = syncbench("replaying", "--replay", str(minimal), "--out", str(tmp_path / "first"))
    assert first.returncode == 1, first.stderr
    recorded = summary(tmp_path / "first")
    assert recorded["seed"] == 3
    assert recorded["parameters"]["operations"] == operations
    assert recorded["schedule"] == [window], "the minimal schedule is played, not a generated one"
    written = tmp_path / "first" / "replaying.minimal.json"
    assert recorded["minimal"]["operations"] == [operations[1]]
    assert recorded["minimal"]["replay"] == f"syncbench run replaying --replay {written}"

    verdict = json.loads((tmp_path / "first" / "replaying.ipynb").read_text())["cells"][0]
    text = "".join(verdict["source"])
    assert "**Minimal failing case** for no_bad_operation: 1 operation, 1 fault window" in text
    assert '| 4 | c2 | bad | task_id="t1" |' in text
    assert "| 0.5 | 1.25 | offline | b |" in text
    assert f"Replay: `syncbench run replaying --replay {written}`" in text
    assert text.index("Minimal failing case") < text.index("Parameters:")

    # the minimal file the run wrote replays too: the same failure, from one operation
    again = syncbench("--replay", str(written), "--out", str(tmp_path / "again"))
    assert again.returncode == 1, again.stderr
    replayed = summary(tmp_path / "again")
    assert replayed["parameters"]["operations"] == [operations[1]]
    assert [c["verdict"] for c in replayed["checks"]] == ["pass", "fail"]


def test_a_minimal_case_for_a_study_that_cannot_play_operations_is_refused(
        tmp_path: Path) -> None:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    source = (NOTEBOOKS / "replaying.ipynb").read_text()
    (notebooks / "replaying.ipynb").write_text(source.replace("operations: list[dict]", "ops: list[dict]"))
    minimal = tmp_path / "replaying.minimal.json"
    minimal.write_text(json.dumps({"study": "replaying", "seed": 1, "parameters": {}}))
    result = subprocess.run(
        [sys.executable, "-m", "syncbench.cli", "run", "--notebooks", str(notebooks),
         "--replay", str(minimal)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "takes no `operations` parameter" in result.stderr


def test_an_unknown_check_is_no_pass(tmp_path: Path) -> None:
    result = syncbench("replaying", "-p", "unknown_check=true", "--out", str(tmp_path))
    assert result.returncode == 1, result.stderr
    study = summary(tmp_path)
    assert study["status"] == "unknown"
    assert study["checks"][0]["verdict"] == "unknown"
    run = json.loads((tmp_path / "summary.json").read_text())
    assert run["status"] == "unknown" and run["counts"]["unknown"] == 1
    assert "? UNKNOWN" in (tmp_path / "replaying.html").read_text()
