"""A study's minimal failing case: saved beside its results as `<study>.minimal.json`, carried
into the summary, shown in the verdict cell with its replay command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncbench.report import Report
from syncbench.runner.outcome import FAIL, StudyOutcome
from syncbench.runner.verdict_cell import verdict_markdown
from syncbench.study import StudyParams, StudyResult
from syncbench.verdict import CheckResult

OPERATIONS = [{"step": 2, "client": "c1", "op": "create", "task_id": "t1"},
              {"step": 9, "client": "c2", "op": "batch_sync", "change_id": "1"}]
WINDOW = {"at": 1.0, "for": 2.0, "fault": "network", "target": "c2", "profile": "wan"}


def minimal(**changes: object) -> dict:
    return {"check": "response_integrity", "operations": OPERATIONS, "schedule": [WINDOW],
            "trials": 12, "elapsed_s": 3.5, "complete": True, **changes}


def test_a_study_result_with_a_minimal_case_writes_the_file_that_replays_it(
        tmp_path: Path) -> None:
    result = StudyResult(study="sync", params=StudyParams(seed=4),
                         checks=[CheckResult("response_integrity", False, "1", "0")],
                         minimal=minimal())
    result.report(tmp_path).save()

    saved = json.loads((tmp_path / "sync.results.json").read_text())["minimal"]
    path = tmp_path / "sync.minimal.json"
    assert saved["file"] == "sync.minimal.json"
    assert saved["replay"] == f"syncbench run sync --replay {path}"
    replayable = json.loads(path.read_text())
    assert replayable["study"] == "sync" and replayable["seed"] == 4
    assert replayable["check"] == "response_integrity"
    assert replayable["parameters"]["operations"] == OPERATIONS
    assert replayable["parameters"]["schedule"] == [WINDOW]
    assert replayable["parameters"]["seed"] == 4


def test_a_study_result_without_one_writes_no_file(tmp_path: Path) -> None:
    StudyResult(study="sync", params=StudyParams()).report(tmp_path).save()
    assert json.loads((tmp_path / "sync.results.json").read_text())["minimal"] is None
    assert not (tmp_path / "sync.minimal.json").exists()


def test_a_minimal_case_without_its_operations_is_refused(tmp_path: Path) -> None:
    report = Report(study="sync", output_dir=tmp_path)
    report.minimal = {"check": "x", "schedule": []}
    with pytest.raises(ValueError, match="lacks operations"):
        report.save()


def outcome_with(record: dict) -> StudyOutcome:
    return StudyOutcome(study="sync", status=FAIL, parameters={}, seed=1, duration_s=1.0,
                        results={"checks": [{"name": "response_integrity", "verdict": "fail",
                                             "passed": False, "observed": 1, "expected": 0}],
                                 "minimal": record})


def test_the_verdict_shows_the_minimal_schedule_as_tables_and_the_replay_command() -> None:
    record = minimal(file="sync.minimal.json", replay="syncbench run sync --replay o/sync.minimal.json")
    text = verdict_markdown(outcome_with(record))
    assert ("**Minimal failing case** for response_integrity: 2 operations, 1 fault window "
            "(12 trials, 3.5 s; 1-minimal") in text
    assert '| 2 | c1 | create | task_id="t1" |' in text
    assert '| 9 | c2 | batch_sync | change_id="1" |' in text
    assert '| 1.0 | 2.0 | network | c2 | profile="wan" |' in text
    assert "Replay: `syncbench run sync --replay o/sync.minimal.json`" in text


def test_a_long_or_unfinished_minimal_case_says_so() -> None:
    many = [{"step": i, "client": "c1", "op": "read"} for i in range(45)]
    text = verdict_markdown(outcome_with(minimal(operations=many, complete=False,
                                                 file="sync.minimal.json")))
    assert "the shrinking budget ran out" in text
    assert "... and 15 more in sync.minimal.json." in text
    assert "| 29 | c1 | read |" in text and "| 30 | c1 | read |" not in text
