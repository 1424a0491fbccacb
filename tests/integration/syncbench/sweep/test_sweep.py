"""`syncbench sweep` for real on a local Ray: a tiny grid (two thresholds x two seeds) of a
study whose check fails on even seeds, the report's rates and seeds, the replay of the
first failing seed alone (outside Ray, same verdict), what is kept of each run, and Ctrl-C.
"""

from __future__ import annotations

import io
import json
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from syncbench.sweep.instance import InstanceJob, run_instance

ROOT = Path(__file__).resolve().parents[4]
NOTEBOOKS = Path(__file__).parent / "notebooks"
# One Ray at a time (each local Ray is sized to the machine); a local Ray starts in 3-10 s.
# the runs are toy notebooks: the suite's coverage of lib/tasksync has nothing to gain there
pytestmark = [pytest.mark.xdist_group("ray"), pytest.mark.timeout(300),
              pytest.mark.usefixtures("unmeasured_subprocesses")]


def sweep(*args: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "syncbench.cli", "sweep", *args, "--notebooks",
            str(NOTEBOOKS), "--out", str(out)]


def test_an_instance_runs_alone_and_keeps_everything_only_when_it_did_not_pass() -> None:
    def job(seed: int) -> InstanceJob:
        return InstanceJob(index=0, study="seedy", seed=seed,
                           parameters={"seed": seed, "threshold": 1.0},
                           notebooks_dir=str(NOTEBOOKS), timeout_s=120)
    failed = run_instance(job(2))
    assert failed.status == "fail" and failed.exit_code == 1
    assert [c["name"] for c in failed.summary["checks"] if c["verdict"] == "fail"] == [
        "value below threshold"]
    names = zipfile.ZipFile(io.BytesIO(failed.artifacts)).namelist()
    assert {"seedy.ipynb", "seedy.html", "seedy.summary.json", "console.log"} <= set(names)
    passed = run_instance(job(1))
    assert (passed.status, passed.artifacts, passed.summary["seed"]) == ("pass", None, 1)


def test_a_tiny_grid_on_a_local_ray_finds_the_failing_seeds_and_the_replay_fails_again(
        tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    done = subprocess.run(sweep("seedy", "--seeds", "1-2", "--grid", "threshold=1.0,3.0",
                                out=out), cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 1, done.stderr
    assert "on a local Ray" in done.stderr and "4/4 done, 1 failed" in done.stderr
    report = json.loads((out / "sweep.json").read_text())
    assert report["status"] == "fail"
    assert report["text"].startswith("1 of 4 runs failed a check (25%; first failing seed 2)")
    rates = {c["label"]: (c["finished"], c["failure_rate"], c["failing_seeds"])
             for c in report["cells"]}
    assert rates == {"threshold=1.0": (2, 0.5, [2]), "threshold=3.0": (2, 0.0, [])}
    [check] = report["checks"]
    assert (check["check"], check["seeds"], check["first_seed"]) == (
        "value below threshold", [2], 2)
    assert {(i["seed"], i["cell"], i["status"]) for i in report["instances"]} == {
        (1, 0, "pass"), (1, 1, "pass"), (2, 0, "fail"), (2, 1, "pass")}
    # a failing run is kept whole, a passing one as its summary
    assert {p.name for p in (out / "runs" / "cell-0-seed-2").iterdir()} >= {
        "seedy.ipynb", "seedy.html", "seedy.summary.json", "console.log"}
    assert [p.name for p in (out / "runs" / "cell-0-seed-1").iterdir()] == [
        "seedy.summary.json"]
    page = (out / "sweep.html").read_text()
    assert page.index("FAIL:") < page.index("Every run")
    rows = (out / "sweep.csv").read_text().splitlines()
    assert rows[0].startswith("index,cell,seed,status,") and len(rows) == 5
    assert rows[3].startswith("2,0,2,fail,") and "value below threshold" in rows[3]
    # the first failing seed, alone and outside Ray, with the command the report gives
    words = shlex.split(check["replay"])
    assert words[:3] == ["syncbench", "run", "--replay"]
    again = subprocess.run([sys.executable, "-m", "syncbench.cli", *words[1:],
                            "--no-coverage", "--out", str(tmp_path / "replay")], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1, again.stderr
    replayed = json.loads((tmp_path / "replay" / "seedy.summary.json").read_text())
    assert (replayed["seed"], replayed["parameters"]["threshold"]) == (2, 1.0)
    assert [c["name"] for c in replayed["checks"] if c["verdict"] == "fail"] == [
        "value below threshold"]


def _runs_of(prefix: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(prefix in part for part in process.info["cmdline"] or ()):
                found.append(process)
        except (psutil.Error, TypeError):
            continue
    return found


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_stops_every_run_and_still_writes_the_report(
        tmp_path: Path, stop: signal.Signals) -> None:
    # SIGTERM too: Ray's core worker installs its own SIGTERM handler (log and die) over
    # the sweep's, which then left its report half written
    out = tmp_path / "sweep"
    sweeping = subprocess.Popen(sweep("sleeping", "--seeds", "1-3", "--parallel", "1",
                                      out=out), cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        # a run under way: its `syncbench run` works in a folder named for the sweep
        while not _runs_of("syncbench-sweep-sleeping-"):
            assert sweeping.poll() is None, sweeping.stderr.read()
            assert time.monotonic() < deadline, "no run started within 120 s"
            time.sleep(0.2)
        sweeping.send_signal(stop)
        _, stderr = sweeping.communicate(timeout=90)
    finally:
        if sweeping.poll() is None:
            sweeping.kill()
    assert sweeping.returncode == 130, stderr
    assert "interrupted; writing what finished" in stderr
    report = json.loads((out / "sweep.json").read_text())
    assert report["status"] == "interrupted" and report["run"]["interrupted"]
    assert {i["status"] for i in report["instances"]} == {"interrupted"}
    assert len(report["instances"]) == 3
    # nothing of the stopped run is left: its runner, kernel and their children are gone
    deadline = time.monotonic() + 30
    while (left := _runs_of("syncbench-sweep-sleeping-")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, [p.info["cmdline"] for p in left]


@pytest.mark.parametrize(("args", "says"), [
    (["seedy", "--seeds", "5-1"], "--seeds: range '5-1' runs backwards; give 1-5"),
    (["nosuch", "--seeds", "1-2"], "unknown study 'nosuch'"),
    (["seedy", "--seeds", "1", "--grid", "threshold=high"],
     "grid cell threshold=high: "),
])
def test_bad_input_is_one_line_and_exit_2_before_ray_starts(
        tmp_path: Path, args: list[str], says: str) -> None:
    done = subprocess.run(sweep(*args, out=tmp_path / "out"), cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("syncbench sweep: error: ") and says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "sweep.json").exists()
