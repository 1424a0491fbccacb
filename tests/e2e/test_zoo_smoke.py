"""`syncbench zoo` for real, on a rotating sample of the bug zoo at smoke size.

Three bugs a run, chosen by a seed that changes every day (or SYNCBENCH_ZOO_SEED, to
repeat a day's draw): over a few weeks of CI every bug is met. The seed is printed by the
zoo and kept in zoo.json. Each sampled bug runs against the studies meant to catch it,
after a clean no-bug baseline of those studies; every one must be caught by a check of its
class (a crash or timeout is not a catch).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tasksync.bugs import describe

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = 3

# A baseline of up to three studies and three bug runs: about 4 minutes here.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def todays_seed() -> int:
    return int(os.environ.get("SYNCBENCH_ZOO_SEED") or dt.date.today().toordinal())


def test_a_rotating_sample_of_the_zoo_is_caught_each_bug_by_a_check_of_its_class(
        tmp_path: Path) -> None:
    seed = todays_seed()
    result = subprocess.run(
        [sys.executable, "-m", "syncbench.cli", "zoo", "--sample", str(SAMPLE), "--seed",
         str(seed), "--studies", "expected", "--params", "params/smoke.yaml",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=880)
    print(f"zoo sample seed {seed} (SYNCBENCH_ZOO_SEED={seed} repeats it)")
    assert result.returncode == 0, result.stderr[-4000:]
    zoo = json.loads((tmp_path / "zoo.json").read_text())
    assert zoo["baseline"]["clean"], zoo["baseline"]
    bugs = {cell["bug"] for cell in zoo["cells"]}
    assert len(bugs) == SAMPLE
    for cell in zoo["cells"]:
        assert cell["outcome"] == "caught", cell
        assert set(cell["catching_checks"]) <= set(describe(cell["bug"]).caught_by)
        study = json.loads((tmp_path / cell["bug"] / f"{cell['study']}.summary.json")
                           .read_text())
        assert study["parameters"]["seeded_bug"] == cell["bug"]
        failed = {c["name"] for c in study["checks"] if c["verdict"] == "fail"}
        assert set(cell["catching_checks"]) <= failed
    assert zoo["detection"]["overall"]["rate"] == 1.0
    assert (tmp_path / "zoo.csv").is_file() and (tmp_path / "zoo.html").is_file()
