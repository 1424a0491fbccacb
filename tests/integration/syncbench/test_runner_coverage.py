"""`syncbench run` measures lib/tasksync in every process a study starts (the kernel, a
`tasksync serve` child, `tasksync` CLI children), reports it per module, leaves no data file
outside the run's directory, and leaves an outer measurement's figures as they were."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from coverage import CoverageData

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = Path(__file__).parent / "reach_notebooks"
# where a child process started with a relative data file would have left it
WATCHED_DIRS = (ROOT, ROOT / "notebooks", NOTEBOOKS)


def syncbench(out: Path, *args: str, env: dict[str, str] | None = None,
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncbench.cli", "run", "--notebooks", str(NOTEBOOKS),
         "--no-progress", "--out", str(out), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def data_files() -> set[Path]:
    return {path for directory in WATCHED_DIRS for path in directory.glob(".coverage*")}


def outer_data_prefix() -> str | None:
    """The data file of the measurement this test runs under (pytest-cov), if any: its files
    in the project root are expected, ours are not."""
    from syncbench.runner.coverage_measure import outer_measurement

    outer = outer_measurement()
    return str(outer.data_file) if outer else None


def test_the_summary_counts_lines_run_in_the_server_and_cli_processes(tmp_path: Path) -> None:
    before = data_files()
    result = syncbench(tmp_path / "run")
    assert result.returncode == 0, result.stderr[-3000:]
    coverage = json.loads((tmp_path / "run" / "summary.json").read_text())["coverage"]
    modules = {m["module"]: m for m in coverage["modules"]}

    # http_api runs only in the server child; replica.outbox only in the CLI children
    for module in ("tasksync.server.http_api", "tasksync.replica.outbox", "tasksync.cli"):
        assert modules[module]["missed"] < modules[module]["statements"], module
    assert modules["tasksync.server.http_api"]["path"] == "lib/tasksync/server/http_api.py"
    # every module of the package is listed, also those nothing imported
    assert len(modules) == len(list((ROOT / "lib" / "tasksync").rglob("*.py")))
    assert modules["tasksync.replica.watch"]["percent"] == 0.0
    assert coverage["studies"]["reaching"]["processes"] == 4  # kernel, server, `add`, `sync`
    assert 0 < coverage["percent"] < 100
    assert coverage["statements"] == sum(m["statements"] for m in modules.values())
    assert (tmp_path / "run" / coverage["html"]).is_file()
    index = (tmp_path / "run" / "index.html").read_text()
    assert f"Reach: {coverage['percent']:.1f}% of lib/tasksync" in index
    assert "tasksync.server.http_api" in index
    assert "reach: " in result.stderr

    outer = outer_data_prefix()
    stray = {p for p in data_files() - before if not (outer and str(p).startswith(outer))}
    assert not stray, f"coverage data outside the run's directory: {stray}"


def test_no_coverage_measures_nothing(tmp_path: Path) -> None:
    result = syncbench(tmp_path / "run", "--no-coverage")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["coverage"] == {"enabled": False, "reason": "--no-coverage"}
    assert not (tmp_path / "run" / "coverage").exists()
    assert "Reach not measured" in (tmp_path / "run" / "index.html").read_text()


def outer_lines(tmp_path: Path, *args: str) -> dict[str, set[int]]:
    """The lines an outer measurement (as pytest-cov runs one: subprocesses measured through
    the environment) records for a run of the reaching study."""
    data_dir = tmp_path / "outer"
    data_dir.mkdir(parents=True)
    config = tmp_path / "outer.rc"
    config.write_text(f"[run]\nsource = {ROOT / 'lib' / 'tasksync'}\nparallel = True\n"
                      f"sigterm = True\ndata_file = {data_dir / '.coverage'}\n")
    env = {name: value for name, value in os.environ.items()
           if name not in ("COVERAGE_PROCESS_CONFIG", "COVERAGE_FILE")}
    env["COVERAGE_PROCESS_START"] = str(config)
    result = syncbench(tmp_path / "run", *args, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines: dict[str, set[int]] = {}
    for path in data_dir.glob(".coverage.*"):
        data = CoverageData(basename=str(path))
        data.read()
        for name in data.measured_files():
            lines.setdefault(name, set()).update(data.lines(name) or [])
    return lines


def test_an_outer_measurement_records_the_same_lines_with_or_without_the_runs_own(
        tmp_path: Path) -> None:
    without = outer_lines(tmp_path / "without", "--no-coverage")
    with_ours = outer_lines(tmp_path / "with", "--coverage")
    server_module = str(ROOT / "lib" / "tasksync" / "server" / "http_api.py")
    assert without[server_module], "the outer measurement reaches the server child"
    assert with_ours == without
