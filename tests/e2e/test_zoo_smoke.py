"""`syncbench zoo` for real: the sync study at smoke size, without and with a seeded bug that
drops WebSocket events, through Papermill; the matrix says caught, by the feed check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tasksync.bugs import describe

ROOT = Path(__file__).resolve().parents[2]

# Two sync notebook runs: about 35 s here.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_the_zoo_catches_skip_event_with_the_delivery_check(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "syncbench.cli", "zoo", "--bugs", "skip_event",
         "--studies", "expected", "--params", "params/smoke.yaml", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stderr[-3000:]
    zoo = json.loads((tmp_path / "zoo.json").read_text())
    assert zoo["baseline"]["clean"], zoo["baseline"]
    assert [(c["bug"], c["study"]) for c in zoo["baseline"]["cells"]] == [("no bug", "sync")]
    [cell] = zoo["cells"]
    assert (cell["bug"], cell["study"], cell["outcome"]) == ("skip_event", "sync", "caught")
    # caught by a check of the bug's class (today subscribers_saw_every_event), which failed
    assert cell["catching_checks"]
    assert set(cell["catching_checks"]) <= set(describe("skip_event").caught_by)
    assert zoo["detection"]["overall"] == {"caught": 1, "run": 1, "rate": 1.0}
    assert zoo["status"] == "all caught"
    study = json.loads((tmp_path / "skip_event" / "sync.summary.json").read_text())
    assert study["parameters"]["seeded_bug"] == "skip_event"
    failed = {c["name"] for c in study["checks"] if c["verdict"] == "fail"}
    assert set(cell["catching_checks"]) <= failed
    assert (tmp_path / "zoo.csv").is_file() and (tmp_path / "zoo.html").is_file()
    assert "[bug 1/1 skip_event] sync: CAUGHT by " in result.stderr
