"""`syncbench zoo` for real, on a rotating sample of the bug zoo at smoke size.

Two bugs a run, chosen by a seed that changes every day (or SYNCBENCH_ZOO_SEED, to
repeat a day's draw): over a few weeks of CI every bug is met. The seed is printed. Bugs
caught only when a race is won (`racy`) are left to the full zoo: a test must not flake. Each sampled bug runs against the studies meant to catch it,
after a clean no-bug baseline of those studies; every one must be caught by a check of its
class (a crash or timeout is not a catch). The baseline is the session's smoke run of every
study (tests/e2e/conftest.py), taken by `--baseline` rather than run again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tasksync.bugs import BUGS, describe
from tests.e2e.conftest import SmokeRun

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = 1  # a bug a day: the sample rotates through the zoo in a few weeks (the full zoo
# runs outside the suite: `syncbench zoo`)

# A baseline taken from the smoke run and two bug runs: about 3 minutes here.
pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow, pytest.mark.timeout(900)]


def todays_seed() -> int:
    return int(os.environ.get("SYNCBENCH_ZOO_SEED") or dt.date.today().toordinal())


def test_a_rotating_sample_of_the_zoo_is_caught_each_bug_by_a_check_of_its_class(
        tmp_path: Path, smoke_run: SmokeRun) -> None:
    seed = todays_seed()
    always_met = sorted(n for n, bug in BUGS.items() if not (bug.racy or bug.some_seeds))
    sample = random.Random(seed).sample(always_met, SAMPLE)
    print(f"zoo sample seed {seed}: {', '.join(sample)}")
    result = subprocess.run(
        [sys.executable, "-m", "syncbench.cli", "zoo", "--bugs", ",".join(sample),
         "--studies", "expected", "--params", "params/smoke.yaml", "--out", str(tmp_path),
         "--baseline", str(smoke_run.out)],
        cwd=ROOT, capture_output=True, text=True, timeout=880)
    assert result.returncode == 0, result.stderr[-4000:]
    zoo = json.loads((tmp_path / "zoo.json").read_text())
    assert zoo["baseline"]["clean"], zoo["baseline"]
    assert {cell["bug"] for cell in zoo["cells"]} == set(sample)
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
