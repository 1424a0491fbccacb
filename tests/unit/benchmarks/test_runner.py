"""Benchmark JSON: the machine described as the studies describe it (syncbench.machine)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.runner import Figure, write_json
from syncbench.machine import machine_description


def test_the_json_describes_the_machine_as_the_studies_do(tmp_path: Path) -> None:
    path = write_json("create", [Figure("create", "req/s", [4.0, 6.0], "bare", [8.0, 10.0])],
                      tmp_path, {"repeats": 2})
    data = json.loads(path.read_text())
    described = machine_description()
    assert set(data["machine"]) == set(described)
    assert data["machine"]["cpu_count"] == described["cpu_count"]
    assert data["figures"][0]["median"] == 5.0 and data["figures"][0]["ratio_median"] == 0.55
