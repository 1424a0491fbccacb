"""`syncbench run` end to end on tiny notebooks: artifacts, verdict cell, exit codes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner, Result

from syncbench.cli import main
from syncbench.params import ParameterError
from syncbench.runner.html import external_scripts
from tests.support import coverage

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = Path(__file__).parent / "notebooks"


def command(*args: str, notebooks: Path = NOTEBOOKS) -> list[str]:
    return [
        sys.executable,
        "-m",
        "syncbench.cli",
        "run",
        "--notebooks",
        str(notebooks),
        "--no-progress",
        "--no-coverage",  # reach is test_runner_coverage.py's business; this saves a second a run
        *args,
    ]


def syncbench(*args: str, notebooks: Path = NOTEBOOKS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args, notebooks=notebooks), cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def cli(*args: str) -> Result:
    """The CLI in this process: for runs that start no kernel."""
    return CliRunner().invoke(main, ["run", "--notebooks", str(NOTEBOOKS), *args])


def verdict_cell(path: Path) -> str:
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    assert "syncbench-verdict" in first.metadata["tags"]
    return first.source


@dataclass(frozen=True)
class Run:
    out: Path
    code: int
    stderr: str


# one worker builds the module's fixture once (xdist would build it on each worker)
pytestmark = [pytest.mark.xdist_group("runner-scenarios"),
              pytest.mark.usefixtures("unmeasured_subprocesses")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every kernel-starting scenario, run as concurrent `syncbench run` processes."""
    base = tmp_path_factory.mktemp("runs")
    params = base / "params.yaml"
    params.write_text("studies:\n  passing: {threshold: 2}\n")
    scenarios = {
        "passing": ("passing", "--params", str(params), "-p", "seed=5"),
        "failing": ("failing",),
        "raising": ("raising",),
        "sleeping": ("sleeping", "--timeout", "2"),
        "dying": ("dying", "forgetful"),
        "silent": ("silent", "chained"),
    }
    processes = {}
    with coverage.unmeasured_subprocesses():
        for name, args in scenarios.items():
            out = base / name
            processes[name] = (out, subprocess.Popen(
                command(*args, "--out", str(out)), cwd=ROOT, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = {}
    for name, (out, process) in processes.items():
        _, stderr = process.communicate(timeout=120)
        results[name] = Run(out, process.returncode, stderr)
    return results


@pytest.fixture
def passing_run(runs: dict[str, Run]) -> tuple[Path, int, str]:
    run = runs["passing"]
    return run.out, run.code, run.stderr


def test_passing_study_exits_0_and_leaves_every_artifact(passing_run) -> None:
    out, code, stderr = passing_run
    assert code == 0, stderr
    for name in (
        "passing.ipynb",
        "passing.html",
        "passing.summary.json",
        "passing.samples.csv",
        "index.html",
        "summary.json",
        "junit.xml",
    ):
        assert (out / name).is_file(), name
    assert "[1/1] passing: PASS (2/2 checks passed" in stderr


def test_executed_notebook_starts_with_the_verdict(passing_run) -> None:
    out, _, _ = passing_run
    verdict = verdict_cell(out / "passing.ipynb")
    assert "PASS" in verdict
    assert "| value below threshold | ✓ PASS | 0.5 | < 2.0 |" in verdict
    nb = nbformat.read(out / "passing.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "seed = 5" in injected[0].source and "threshold = 2.0" in injected[0].source


def test_html_hides_code_and_loads_no_remote_script(passing_run) -> None:
    out, _, _ = passing_run
    html = (out / "passing.html").read_text()
    assert external_scripts(html) == []
    assert not re.search(r"<script[^>]+src=[\"']?https?:", html)
    assert "Verdict: passing" in html
    assert "report.save()" not in html  # code cells hidden
    # rendered without a PNG, the chart carries plotly.js inline
    assert "Plotly.newPlot" in html


def test_study_summary_records_parameters_checks_metrics_and_environment(passing_run) -> None:
    out, _, _ = passing_run
    summary = json.loads((out / "passing.summary.json").read_text())
    assert summary["status"] == "pass"
    assert summary["parameters"] == {"seed": 5, "threshold": 2.0}
    assert summary["seed"] == 5
    assert summary["metrics"] == {"value": {"value": 0.5, "unit": "s"}}
    assert [(c["name"], c["verdict"], c["observed"]) for c in summary["checks"]] == [
        ("value below threshold", "pass", 0.5),
        ("always holds", "pass", "yes"),
    ]
    assert re.fullmatch(r"[0-9a-f]{40}", summary["git"]["revision"])
    assert summary["versions"]["toxiproxy"] == "2.12.0"
    assert summary["versions"]["tasksync"]
    assert summary["versions"]["python"].count(".") == 2
    assert summary["data_files"] == ["passing.samples.csv"]
    assert summary["duration_s"] > 0
    # the kernel is this virtualenv's interpreter
    assert Path(summary["environment"]["kernel_python"]).parent == Path(sys.executable).parent


def test_run_summary_index_and_junit(passing_run) -> None:
    out, _, _ = passing_run
    run = json.loads((out / "summary.json").read_text())
    assert run["status"] == "pass" and run["exit_code"] == 0
    assert run["counts"] == {"pass": 1, "fail": 0, "unknown": 0, "error": 0}
    assert [study["study"] for study in run["studies"]] == ["passing"]
    index = (out / "index.html").read_text()
    assert "href='passing.html'" in index and "href='passing.ipynb'" in index
    suites = ET.parse(out / "junit.xml").getroot()
    assert suites.get("tests") == "2" and suites.get("failures") == "0"
    [suite] = suites.findall("testsuite")
    assert suite.get("name") == "passing"
    assert [case.get("name") for case in suite.findall("testcase")] == [
        "value below threshold",
        "always holds",
    ]


def test_failed_check_exits_1_with_failure_and_counterexample(runs: dict[str, Run]) -> None:
    tmp_path, code, stderr = runs["failing"].out, runs["failing"].code, runs["failing"].stderr
    assert code == 1, stderr
    verdict = verdict_cell(tmp_path / "failing.ipynb")
    assert "FAIL" in verdict and "value below threshold failed" in verdict
    assert '{"op": "read", "value": 2.5}' in verdict
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    [failure] = suite.iter("failure")
    assert failure.get("message") == "observed 2.5, expected < 1.0"
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "fail"


def test_raising_study_exits_2_with_the_error_in_the_verdict(runs: dict[str, Run]) -> None:
    tmp_path, code, stderr = runs["raising"].out, runs["raising"].code, runs["raising"].stderr
    assert code == 2, stderr
    verdict = verdict_cell(tmp_path / "raising.ipynb")
    assert "ERROR" in verdict and "RuntimeError: the study broke" in verdict
    summary = json.loads((tmp_path / "raising.summary.json").read_text())
    assert summary["status"] == "error" and "the study broke" in summary["reason"]
    assert external_scripts((tmp_path / "raising.html").read_text()) == []
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite.get("errors") == "1"
    assert "the study broke" in suite.find("testcase/error").get("message")


def test_cell_timeout_exits_2_with_timeout_reason(runs: dict[str, Run]) -> None:
    tmp_path, code, stderr = runs["sleeping"].out, runs["sleeping"].code, runs["sleeping"].stderr
    assert code == 2, stderr
    reason = json.loads((tmp_path / "sleeping.summary.json").read_text())["reason"]
    assert reason.startswith("timeout: a cell ran longer than 2 s")
    assert "time.sleep" in reason or "import time" in reason
    assert "timeout" in verdict_cell(tmp_path / "sleeping.ipynb")


def test_dead_kernel_and_missing_results_are_errors(runs: dict[str, Run]) -> None:
    tmp_path, code, stderr = runs["dying"].out, runs["dying"].code, runs["dying"].stderr
    assert code == 2, stderr
    run = json.loads((tmp_path / "summary.json").read_text())
    reasons = {study["study"]: study["reason"] for study in run["studies"]}
    assert reasons["dying"].startswith("dead kernel")
    assert reasons["forgetful"].startswith("missing results")
    assert run["counts"]["error"] == 2


def test_list_shows_each_study_parameter_with_type_default_and_comment() -> None:
    result = cli("--list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("passing  (") for line in lines)
    assert any(
        re.fullmatch(
            r"\s+threshold\s+float\s+1\.0\s+# check: value must stay below "
            r"this",
            line,
        )
        for line in lines
    )


def test_an_error_with_no_message_still_names_its_cause_everywhere(runs: dict[str, Run]
                                                                   ) -> None:
    # a bare TimeoutError says nothing: what the cell wrote to stderr does; a RuntimeError()
    # raised from another error: the error it came from does
    out, code, stderr = runs["silent"].out, runs["silent"].code, runs["silent"].stderr
    assert code == 2, stderr
    reasons = {study["study"]: study["reason"]
               for study in json.loads((out / "summary.json").read_text())["studies"]}
    assert reasons["silent"].startswith(
        "TimeoutError (no message); the cell last wrote: toxiproxy-server is not answering on "
        "127.0.0.1:8474; run make toxiproxy (in cell [")
    assert reasons["chained"].startswith("RuntimeError from ValueError: the real cause: profile "
                                         "lan has latency 1e29 (in cell [")
    for study, reason in reasons.items():
        assert reason in stderr  # the terminal
        assert reason in verdict_cell(out / f"{study}.ipynb")  # the verdict cell
        assert reason in ET.parse(out / "junit.xml").getroot().find(
            f"testsuite[@name='{study}']/testcase/error").get("message")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nosuchstudy",), "unknown study 'nosuchstudy'"),
        (
            ("--params", "/nonexistent/absent.yaml"),
            "params file not found: /nonexistent/absent.yaml",
        ),
        (("passing", "-p", "threshold"), "bad override 'threshold'"),
        (("passing", "-p", "threshold=high"), "parameter 'threshold' expects a finite number, got str 'high'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="PNG charts need chromium")
def test_example_study_html_has_interactive_charts_offline_with_png_fallbacks(
        tmp_path: Path) -> None:
    result = syncbench("example", "--out", str(tmp_path), notebooks=ROOT / "notebooks")
    assert result.returncode == 0, result.stderr
    nb = nbformat.read(tmp_path / "example.ipynb", as_version=4)
    charts = [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]
    assert len(charts) == 3 and all("image/png" in o["data"] for o in charts)
    html = (tmp_path / "example.html").read_text()
    assert html.count("Plotly.newPlot") == 3  # interactive, each chart
    assert html.count("plotly.js v") == 1  # plotly.js inline once for the page
    assert html.count("<noscript><img") == 3  # the PNG only without JavaScript
    assert external_scripts(html) == []


def test_an_out_that_is_a_file_or_under_one_is_one_line_and_exit_2(tmp_path: Path) -> None:
    a_file = tmp_path / "results.txt"
    a_file.write_text("keep me")
    for out, message in ((a_file, f"--out {a_file} is a file, not a folder"),
                         (a_file / "run", f"--out {a_file / 'run'}: cannot make the folder")):
        result = cli("passing", "--out", str(out))
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert a_file.read_text() == "keep me"


def test_a_params_file_that_is_not_utf8_is_one_line_and_exit_2(tmp_path: Path) -> None:
    params = tmp_path / "latin1.yaml"
    params.write_bytes("studies:\n  passing: {}  # caf\u00e9\n".encode("latin-1"))
    result = cli("--params", str(params), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert f"{params}: not UTF-8 text" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_runs_started_in_the_same_second_get_their_own_ids_and_folders(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from syncbench.runner.run_dir import claim_run_dir
    from syncbench.runner.summary import GitInfo

    git, now = GitInfo("0123456789abcdef", False), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with claim_run_dir(None, tmp_path, git, now) as first, \
            claim_run_dir(None, tmp_path, git, now) as second:
        assert first[0] == "20260102T030405Z-01234567"
        assert second[0] == "20260102T030405Z-01234567-2"
        assert first[1] != second[1] and first[1].is_dir() and second[1].is_dir()
        # one --out, two runs at once: the second is refused before it writes anything
        with claim_run_dir(tmp_path / "shared", tmp_path, git, now) as held:
            with pytest.raises(ParameterError, match="another run .* is writing into it"):
                with claim_run_dir(tmp_path / "shared", tmp_path, git, now):
                    pass
            assert held[0] != first[0]
    with claim_run_dir(tmp_path / "shared", tmp_path, git, now):  # free again once it ended
        pass


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_an_interrupted_run_still_writes_summary_index_and_junit(tmp_path: Path,
                                                                 signal_name: str) -> None:
    import signal as signals

    from tests.support.wait import wait_until

    process = subprocess.Popen(command("waiting", "passing", "--out", str(tmp_path)), cwd=ROOT,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: (tmp_path / "waiting.started").exists(), timeout=60,
                   message="the waiting study to start")
        process.send_signal(getattr(signals, signal_name))
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    run = json.loads((tmp_path / "summary.json").read_text())
    shown = "SIGTERM" if signal_name == "SIGTERM" else "Ctrl-C (SIGINT)"
    assert run["interrupted"] == shown and run["status"] == "interrupted"
    assert [(s["study"], s["status"]) for s in run["studies"]] == [
        ("waiting", "interrupted"), ("passing", "interrupted")]
    assert run["studies"][0]["reason"] == f"interrupted by {shown} while it ran"
    assert run["studies"][1]["reason"].startswith("not started")
    assert "Interrupted" in (tmp_path / "index.html").read_text()
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("errors") == "2"
    assert "INTERRUPTED" in verdict_cell(tmp_path / "waiting.ipynb")
    assert f"interrupted; what ran is in {tmp_path}" in stderr
    assert not (tmp_path / ".syncbench-run.lock").exists()


@pytest.mark.slow
def test_the_explore_notebook_runs_every_building_block_and_passes(tmp_path: Path) -> None:
    # notebooks/explore.ipynb is documentation users run: it must keep working
    result = syncbench("explore", "--out", str(tmp_path), notebooks=ROOT / "notebooks")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "explore.summary.json").read_text())
    assert [c["verdict"] for c in summary["checks"]] == ["pass"] * 3
    assert (tmp_path / "explore.operations.csv").is_file()


def test_two_runs_are_indexed_across_runs_and_compared(tmp_path: Path) -> None:
    # as a user runs it from a project folder: runs kept under ./outputs, then compared
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command("passing", *args), cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)

    first, second = run("-p", "threshold=2"), run("-p", "threshold=0.4")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 1, second.stderr  # value 0.5 is not below 0.4
    runs = sorted(p.parent for p in (tmp_path / "outputs").glob("*/summary.json"))
    assert len(runs) == 2 and "all runs: outputs/index.html" in second.stderr
    index = (tmp_path / "outputs" / "index.html").read_text()
    assert "syncbench runs (2)" in index and "value below threshold" in index  # it flipped
    compared = subprocess.run(
        [sys.executable, "-m", "syncbench.cli", "compare", str(runs[0]), str(runs[1]),
         "--out", str(tmp_path / "cmp")], cwd=tmp_path, capture_output=True, text=True,
        timeout=120)
    assert compared.returncode == 1, compared.stdout + compared.stderr
    assert "REGRESSION: value below threshold pass -> fail" in compared.stdout
    assert "parameter threshold: 2.0 -> 0.4" in compared.stdout
    assert "1 regression(s)" in compared.stdout  # the check, and its study's status, once
    assert (tmp_path / "cmp" / "compare.html").is_file()
