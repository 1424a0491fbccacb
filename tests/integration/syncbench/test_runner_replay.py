"""`syncbench run --replay`: a study runs again with the parameters, seed and fault schedule
its summary recorded; an unknown verdict is no pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = Path(__file__).parent / "replay_notebooks"


def syncbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncbench.cli", "run", "--notebooks", str(NOTEBOOKS),
         "--no-progress", *args],
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
    result = syncbench("replaying", "--replay", str(run_summary))
    assert result.returncode == 2 and "drop the study names" in result.stderr


def test_an_unknown_check_is_no_pass(tmp_path: Path) -> None:
    result = syncbench("replaying", "-p", "unknown_check=true", "--out", str(tmp_path))
    assert result.returncode == 1, result.stderr
    study = summary(tmp_path)
    assert study["status"] == "unknown"
    assert study["checks"][0]["verdict"] == "unknown"
    run = json.loads((tmp_path / "summary.json").read_text())
    assert run["status"] == "unknown" and run["counts"]["unknown"] == 1
    assert "? UNKNOWN" in (tmp_path / "replaying.html").read_text()
