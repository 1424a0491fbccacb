"""One smoke run of every study for the whole e2e session: its artifacts are checked, and
the zoo's sample takes its no-bug baseline from it. (Replaying a study from its summary is
tests/integration/syncbench/test_runner_replay.py's business, on notebooks that take
seconds, and each study's own replay test's.)"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYNCBENCH = [sys.executable, "-m", "syncbench.cli"]


@dataclass(frozen=True)
class SmokeRun:
    out: Path
    result: subprocess.CompletedProcess[str]


def run_syncbench(params: str, out: Path, *studies: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SYNCBENCH, "run", *studies, "--params", params, "--out", str(out), "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """`syncbench run --params params/smoke.yaml`: every study, once."""
    out = tmp_path_factory.mktemp("smoke")
    return SmokeRun(out, run_syncbench("params/smoke.yaml", out))
