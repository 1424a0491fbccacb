"""A study, unchanged, on the container target: `syncbench run sync --params
params/smoke.yaml -p target=container` passes, its summary says where it ran, and its
containers are gone when it ends."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import docker
import pytest

from syncbench.containers.engine import OWNER_LABEL, ours
from tests.e2e.conftest import ROOT, SYNCBENCH

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900), pytest.mark.xdist_group("containers")]


def _containers() -> dict[str, Any]:
    engine = docker.from_env(timeout=30)
    try:
        return {c.id: c for c in ours(engine)}
    finally:
        engine.close()


def test_the_sync_study_passes_on_the_container_target(tmp_path: Path) -> None:
    before = _containers()
    result = subprocess.run(
        [*SYNCBENCH, "run", "sync", "--params", "params/smoke.yaml", "-p", "target=container",
         "--out", str(tmp_path), "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    summary = json.loads((tmp_path / "sync.summary.json").read_text())
    assert summary["parameters"]["target"] == "container"
    store = summary["environment"]["store"]
    assert "server container(s) of syncbench/tasksync:" in store, store
    assert "Toxiproxy from syncbench/toxiproxy:" in store, store
    # the run's containers (their owner, the study's kernel, has exited) are all gone
    left = [c.name for cid, c in _containers().items() if cid not in before
            and not os.path.exists(f"/proc/{c.labels[OWNER_LABEL]}")]
    assert left == []

