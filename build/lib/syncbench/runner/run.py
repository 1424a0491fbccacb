"""`syncbench run`: execute each study, then write its verdict, HTML and summary, and the
run's index, summary and JUnit report. It orchestrates; it computes no metric."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from syncbench.minimal import minimal_path
from syncbench.params import ParameterError
from syncbench.plain import json_ready
from syncbench.report import load_results, results_path
from syncbench.review.across_runs import write_runs_index
from syncbench.review.witness import read_windows, witness_operations, write_witness_page
from syncbench.runner.coverage_measure import RunCoverage
from syncbench.runner.coverage_summary import disabled_section
from syncbench.runner.execute import KERNEL_NAME, execute_notebook
from syncbench.runner.html import write_notebook_html
from syncbench.runner.index import index_html
from syncbench.runner.interrupts import interrupt_name
from syncbench.runner.junit import junit_xml
from syncbench.runner.outcome import ERROR, INTERRUPTED, StudyOutcome, exit_code, status_of
from syncbench.runner.plan import StudyPlan, plan_replay, plan_studies
from syncbench.runner.run_dir import claim_run_dir
from syncbench.runner.summary import (
    GitInfo,
    git_info,
    run_summary,
    study_summary,
    utc_now,
)
from syncbench.runner.verdict_cell import insert_verdict_cell

DEFAULT_CELL_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class RunOptions:
    """What to run and where: the CLI's options as a value."""

    studies: tuple[str, ...] = ()
    params_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    out_dir: Path | None = None  # default: <outputs_root>/<run-id>
    timeout: float | None = DEFAULT_CELL_TIMEOUT_S  # per cell
    notebooks_dir: Path = Path("notebooks")
    outputs_root: Path = Path("outputs")
    kernel_name: str = KERNEL_NAME
    progress: bool = True
    replay: Path | None = None  # a <study>.summary.json or .minimal.json to run again
    coverage: bool = True  # measure lib/tasksync in every process the studies start


@dataclass(frozen=True)
class RunResult:
    """Where a run's artifacts are, each study's outcome and the exit code."""

    run_id: str
    out_dir: Path
    outcomes: list[StudyOutcome]
    exit_code: int


def run(options: RunOptions, echo: Callable[[str], None] = print) -> RunResult:
    """Run the selected studies and write all artifacts; ParameterError (before anything
    runs) for unknown studies, parameters, a bad params file or a bad `out_dir`. An interrupt
    (KeyboardInterrupt: Ctrl-C, or SIGTERM under `terminating_interrupts`) marks the study
    it stopped and those not begun INTERRUPTED, and the run's summary, index and JUnit
    report are written all the same (exit code 130)."""
    if options.replay is not None:
        if len(options.studies) > 1 or options.params_file:
            raise ParameterError("--replay runs the one study its file names with the "
                                 "parameters it recorded; drop --params and the other study "
                                 "names")
        plans = [plan_replay(options.replay, options.notebooks_dir, options.overrides,
                             options.studies[0] if options.studies else None)]
    else:
        plans = plan_studies(
            options.notebooks_dir, options.studies, options.params_file, options.overrides
        )
    git = git_info()
    with claim_run_dir(options.out_dir, options.outputs_root, git) as (run_id, out_dir):
        return _run_plans(plans, options, git, run_id, out_dir, echo)


def _run_plans(plans: list[StudyPlan], options: RunOptions, git: GitInfo, run_id: str,
               out_dir: Path, echo: Callable[[str], None]) -> RunResult:
    started_at = utc_now()
    echo(
        f"syncbench run {run_id}: {len(plans)} stud{'y' if len(plans) == 1 else 'ies'} -> {out_dir}"
    )

    measurement = RunCoverage(out_dir) if options.coverage else None
    outcomes: list[StudyOutcome] = []
    summaries: list[dict[str, Any]] = []
    interrupted: str | None = None
    for number, plan in enumerate(plans, 1):
        prefix = f"[{number}/{len(plans)}] {plan.study}"
        if interrupted:
            outcome = interrupted_outcome(plan, f"not started: {interrupted} stopped the run "
                                                    "first")
        else:
            echo(f"{prefix}: running {plan.notebook}")
            try:
                outcome = _measured_study(plan, out_dir, options, measurement)
            except KeyboardInterrupt as exc:
                interrupted = interrupt_name(exc)
                outcome = interrupted_outcome(plan, f"interrupted by {interrupted} while it "
                                                    "ran")
                _mark_notebook(outcome, out_dir, plan)
        outcomes.append(outcome)
        summary = study_summary(outcome, git, run_id)
        _write_json(out_dir / f"{plan.study}.summary.json", summary)
        summaries.append(summary)
        echo(f"{prefix}: {_describe(outcome)}")

    code = exit_code(outcomes)
    coverage = (disabled_section("the run was interrupted") if interrupted
                else _finish_coverage(measurement))
    run_info = run_summary(
        summaries,
        git,
        run_id,
        started_at,
        str(options.replay or options.params_file or "") or None,
        options.overrides,
        code,
        coverage=coverage,
        interrupted=interrupted,
    )
    _write_json(out_dir / "summary.json", run_info)
    (out_dir / "index.html").write_text(index_html(run_info), encoding="utf-8")
    (out_dir / "junit.xml").write_text(junit_xml(run_info), encoding="utf-8")
    if coverage.get("enabled") and "percent" in coverage:
        echo(f"reach: {coverage['percent']:.1f}% of {coverage['package']} lines run by the "
             f"studies; lowest: {', '.join(coverage['lowest'])}; "
             f"{out_dir / (coverage['html'] or coverage['data_file'])}")
    bugs = run_info["seeded_bugs"]
    if bugs["run"]:
        echo(f"seeded bugs caught: {bugs['caught']} of {bugs['run']}")
    echo(
        f"syncbench run {run_id}: {run_info['status'].upper()} "
        f"({_counts(run_info['counts'])}); open {out_dir / 'index.html'}"
    )
    _index_across_runs(out_dir, options.outputs_root, echo)
    return RunResult(run_id=run_id, out_dir=out_dir, outcomes=outcomes, exit_code=code)


def _measured_study(plan: StudyPlan, out_dir: Path, options: RunOptions,
                    measurement: RunCoverage | None) -> StudyOutcome:
    measuring: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if measurement is not None and plan.timed:
        measurement.leave_out(plan.study, "its verdicts rest on timings, which the "
                              "coverage tracer would distort")
    elif measurement is not None:
        measuring = measurement.study(plan.study)
    with measuring:
        return run_study(plan, out_dir, options)


def interrupted_outcome(plan: StudyPlan, reason: str) -> StudyOutcome:
    """The outcome of a study an interrupt stopped, or kept from starting."""
    return StudyOutcome(study=plan.study, status=INTERRUPTED, parameters=plan.parameters,
                        seed=plan.seed, duration_s=0.0, reason=reason, started_at=utc_now())


def _mark_notebook(outcome: StudyOutcome, out_dir: Path, plan: StudyPlan) -> None:
    """Put the interrupted verdict on top of what the notebook got to (best effort: a second
    interrupt is not held up by it)."""
    output_notebook = out_dir / f"{plan.study}.ipynb"
    nb = _executed_or_source(output_notebook, plan.notebook)
    insert_verdict_cell(nb, outcome)
    with contextlib.suppress(OSError):
        nbformat.write(nb, output_notebook)


def _index_across_runs(out_dir: Path, outputs_root: Path, echo: Callable[[str], None]) -> None:
    """Rewrite outputs/index.html when this run is kept there (best effort: the run's own
    artifacts are written already)."""
    if out_dir.resolve().parent != outputs_root.resolve():
        return
    try:
        page = write_runs_index(outputs_root)
    except Exception as exc:  # a broken earlier run must not fail this one
        echo(f"runs index not updated: {type(exc).__name__}: {exc}")
        return
    echo(f"all runs: {page}")


def _finish_coverage(measurement: RunCoverage | None) -> dict[str, Any]:
    """The summary's coverage section; a failure to report it never fails the run."""
    if measurement is None:
        return disabled_section("--no-coverage")
    try:
        return measurement.finish()
    except Exception as exc:  # coverage.py's data or report: the studies' verdicts stand
        return {"enabled": True, "error": f"{type(exc).__name__}: {exc}"}


def run_study(plan: StudyPlan, out_dir: Path, options: RunOptions) -> StudyOutcome:
    """Execute one study and leave `<study>.ipynb` (verdict first) and `<study>.html`."""
    started_at = utc_now()
    output_notebook = out_dir / f"{plan.study}.ipynb"
    # never read a stale result, minimal case or notebook from an earlier run into this one
    results_path(out_dir, plan.study).unlink(missing_ok=True)
    minimal_path(out_dir, plan.study).unlink(missing_ok=True)
    output_notebook.unlink(missing_ok=True)
    (out_dir / f"{plan.study}.counterexamples.html").unlink(missing_ok=True)
    execution = execute_notebook(
        plan.notebook,
        output_notebook,
        {**plan.parameters, "output_dir": str(out_dir.resolve())},
        timeout=options.timeout,
        kernel_name=options.kernel_name,
        progress=options.progress,
    )
    outcome = StudyOutcome(
        study=plan.study,
        status=ERROR,
        parameters=plan.parameters,
        seed=plan.seed,
        duration_s=execution.duration_s,
        reason=execution.reason,
        started_at=started_at,
    )
    if execution.ok:
        _read_results(outcome, out_dir)
        _draw_witnesses(outcome, out_dir)

    nb = _executed_or_source(output_notebook, plan.notebook)
    insert_verdict_cell(nb, outcome)
    try:
        write_notebook_html(nb, out_dir / f"{plan.study}.html")
    except Exception as exc:  # a study whose HTML cannot be made has not produced its report
        outcome.status = ERROR
        outcome.reason = f"HTML export failed: {type(exc).__name__}: {exc}"
        insert_verdict_cell(nb, outcome)
        (out_dir / f"{plan.study}.html").unlink(missing_ok=True)
    nbformat.write(nb, output_notebook)
    return outcome


def _draw_witnesses(outcome: StudyOutcome, out_dir: Path) -> None:
    """`<study>.counterexamples.html` for the failing checks that name operations, linked
    from the verdict cell (a page that cannot be drawn leaves the verdict as it is)."""
    try:
        windows = read_windows(out_dir, list(outcome.results.get("data_files", {}).values()))
        page = write_witness_page(out_dir, outcome.study, outcome.checks, windows)
    except Exception as exc:  # the checks' verdicts stand without their picture
        outcome.results["witness_page_error"] = f"{type(exc).__name__}: {exc}"
        return
    if page is not None:
        outcome.results["witness_page"] = {
            "page": page.name,
            "checks": [c["name"] for c in outcome.failed_checks if witness_operations(c)]}


def _read_results(outcome: StudyOutcome, out_dir: Path) -> None:
    study = outcome.study
    try:
        outcome.results = load_results(out_dir, study)
    except FileNotFoundError:
        outcome.reason = (
            f"missing results: the notebook ran but saved no "
            f"{results_path(out_dir, study).name}; end it with "
            f"Report(study={study!r}, output_dir=output_dir, ...).save()"
        )
        return
    except (OSError, ValueError) as exc:
        outcome.reason = f"unreadable results file: {exc}"
        return
    outcome.status = status_of(outcome.checks)


def _executed_or_source(output_notebook: Path, source: Path) -> nbformat.NotebookNode:
    """The executed notebook, or the source one when the kernel never produced it."""
    for path in (output_notebook, source):
        try:
            return nbformat.read(path, as_version=4)
        except (OSError, ValueError):
            continue
    return nbformat.v4.new_notebook()


def _describe(outcome: StudyOutcome) -> str:
    checks = outcome.checks
    detail = (
        outcome.reason
        if outcome.status in (ERROR, INTERRUPTED)
        else f"{sum(1 for c in checks if c.get('passed'))}/{len(checks)} checks passed"
    )
    return f"{outcome.status.upper()} ({detail}; {outcome.duration_s:.1f} s)"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "no studies"


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(json_ready(data), indent=2) + "\n", encoding="utf-8")

