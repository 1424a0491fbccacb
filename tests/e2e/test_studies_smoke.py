"""Every study notebook, run headlessly through `syncbench run` with params/smoke.yaml, passes
its checks and leaves every artifact; the seeded-bug parameter set is caught by the studies."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.e2e.conftest import SmokeRun, run_syncbench

ROOT = Path(__file__).resolve().parents[2]
STUDIES = ("sync", "resilience", "conflicts", "crash", "replicas", "mcp", "performance")
# the studies whose faults declare paths they must exercise (syncbench.paths)
DECLARING = ("sync", "resilience", "conflicts", "crash", "replicas", "mcp")
SYNCBENCH = [sys.executable, "-m", "syncbench.cli"]

# Whole notebook runs: minutes, not the suite's default per-test timeout.
pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow, pytest.mark.timeout(900)]


def test_smoke_run_of_every_study_passes_and_leaves_all_artifacts(smoke_run: SmokeRun) -> None:
    result, tmp_path = smoke_run.result, smoke_run.out
    summary = json.loads((tmp_path / "summary.json").read_text())
    failed = {s["study"]: s["reason"] or [c for c in s["checks"] if not c["passed"]]
              for s in summary["studies"] if s["status"] != "pass"}
    assert result.returncode == 0, f"{failed}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert sorted(s["study"] for s in summary["studies"]) == sorted(STUDIES)
    for study in STUDIES:
        study_summary = json.loads((tmp_path / f"{study}.summary.json").read_text())
        assert study_summary["checks"], f"{study} ran no checks"
        assert study_summary["metrics"], f"{study} reported no metrics"
        assert study_summary["versions"]["toxiproxy"], f"{study} did not record Toxiproxy's version"
        assert study_summary["git"]["revision"]
        assert study_summary["data_files"], f"{study} saved no raw data"
        paths = study_summary["paths"]  # how often each declared path was exercised
        assert bool(paths) == (study in DECLARING), (study, paths)
        assert all(entry["count"] >= 1 for entry in paths.values()), (study, paths)
        for name in study_summary["data_files"]:
            assert (tmp_path / name).stat().st_size > 0
        notebook = json.loads((tmp_path / f"{study}.ipynb").read_text())
        assert "PASS" in "".join(notebook["cells"][0]["source"]), "verdict cell first"
        page = (tmp_path / f"{study}.html").read_text()
        assert "data:image/png;base64" in page, f"{study}.html shows no chart image"
        assert "<script src=\"http" not in page
    assert (tmp_path / "index.html").exists()
    # reach: lines of lib/tasksync the studies ran, servers' and kernels' alike
    coverage = summary["coverage"]
    assert coverage.get("percent", 0) > 60, coverage.get("error", coverage.get("lowest"))
    http_api = next(m for m in coverage["modules"] if m["module"] == "tasksync.server.http_api")
    assert http_api["missed"] < http_api["statements"]
    assert (tmp_path / coverage["html"]).is_file()
    suites = ElementTree.parse(tmp_path / "junit.xml").getroot()
    assert sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites.iter("testsuite")) == 0


# needs no smoke run: its own group, so it runs beside the smoke run, not after it
@pytest.mark.xdist_group("e2e-seeded-bugs")
def test_each_seeded_bug_is_caught_by_its_study(tmp_path: Path) -> None:
    result = run_syncbench("params/seeded-bugs.yaml", tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    bugs = summary["seeded_bugs"]
    assert result.returncode == 1, "a caught seeded bug is a failed check"
    assert bugs["run"] == 3 and bugs["caught"] == 3, bugs
    assert "seeded bugs caught: 3 of 3" in result.stdout + result.stderr
    expected = {
        "skip_event": "subscribers_saw_every_event",
        "ignore_idempotency": "no_duplicates_from_retries",
        "blind_overwrite": "no_silently_lost_changes",
    }
    for run in bugs["studies"]:
        assert any(expected[run["bug"]] in name.lower() for name in run["failed_checks"]), run
