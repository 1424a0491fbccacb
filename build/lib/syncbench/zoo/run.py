"""`syncbench zoo`: every selected study against every selected bug, through the runner.

A row is the params file run with `seeded_bug` set in every study (the baseline row with
none, run first); each row's artifacts go to `<out>/<bug>/` exactly as `syncbench run` leaves
them (`no-bug/` for the baseline), and the matrix is rewritten after every study, so a
Ctrl-C leaves what finished. It orchestrates; the cells are classified in `matrix`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncbench.params import ParameterError
from syncbench.plain import json_ready
from syncbench.runner.execute import KERNEL_NAME
from syncbench.runner.index import index_html
from syncbench.runner.outcome import StudyOutcome, exit_code
from syncbench.runner.plan import StudyPlan, declared_parameters, find_studies, plan_studies
from syncbench.runner.run import DEFAULT_CELL_TIMEOUT_S, RunOptions, run_study
from syncbench.runner.run_dir import claim_run_dir
from syncbench.runner.summary import GitInfo, git_info, run_summary, study_summary, utc_now
from syncbench.zoo.artifacts import write_artifacts, zoo_document
from syncbench.zoo.matrix import (
    CAUGHT,
    ERROR,
    NO_BUG,
    BugVerdict,
    Cell,
    ZooVerdict,
    bug_verdict,
    classify,
    row_directory,
    zoo_verdict,
)
from syncbench.zoo.progress import Progress
from syncbench.zoo.selection import ZooSelection, select
from tasksync.bugs import BUGS, SeededBug

BUG_PARAMETER = "seeded_bug"


@dataclass(frozen=True)
class ZooOptions:
    """What the zoo runs and where: the CLI's options as a value."""

    bugs: tuple[str, ...] = ()
    studies: tuple[str, ...] = ()  # () every study; ("expected",) each bug's own
    sample: int | None = None
    seed: int | None = None  # the sample's seed (not the studies')
    params_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    out_dir: Path | None = None  # default: <outputs_root>/zoo/<run-id>
    outputs_root: Path = Path("outputs")
    timeout: float | None = DEFAULT_CELL_TIMEOUT_S  # per notebook cell
    notebooks_dir: Path = Path("notebooks")
    kernel_name: str = KERNEL_NAME
    progress: bool = False  # Papermill's per-cell bar (the zoo prints its own progress)
    registry: Mapping[str, SeededBug] = field(default_factory=lambda: BUGS)
    shrink: bool = False  # studies keep their shrink_budget_s (else it is set to 0)
    baseline_dir: Path | None = None  # a `syncbench run` output to take the baseline from


@dataclass(frozen=True)
class ZooPlan:
    """The selection and, per row (NO_BUG first, then each bug), the study plans."""

    selection: ZooSelection
    rows: dict[str, list[StudyPlan]]


@dataclass(frozen=True)
class ZooResult:
    """Where the zoo's artifacts are, every cell, each bug's verdict and the exit code."""

    run_id: str
    out_dir: Path
    cells: list[Cell]
    verdicts: list[BugVerdict]
    verdict: ZooVerdict

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code


SHRINK_PARAMETER = "shrink_budget_s"


def plan_zoo(options: ZooOptions) -> ZooPlan:
    """Every row's study plans, all validated before anything runs; ParameterError for an
    unknown bug or study, a bad params file, or a parameter the zoo sets itself."""
    if BUG_PARAMETER in options.overrides:
        raise ParameterError(f"-p {BUG_PARAMETER}: the zoo sets it for each bug; choose bugs "
                             "with --bugs")
    available = find_studies(options.notebooks_dir)
    # the studies a bug can be switched on in; ad-hoc notebooks without it are left out
    capable = [study for study, path in available.items()
               if BUG_PARAMETER in declared_parameters(study, path)]
    for study in options.studies:
        if study in available and study not in capable:
            raise ParameterError(f"study {study!r} takes no {BUG_PARAMETER} parameter, so no "
                                 f"bug can be switched on in it; choose from {', '.join(capable)}")
    selection = select(capable, options.bugs, options.studies, options.sample,
                       options.seed, options.registry)
    rows = {NO_BUG: (None, selection.baseline_studies)}
    rows.update({bug.name: (bug.name, selection.studies[bug.name]) for bug in selection.bugs})
    return ZooPlan(selection=selection, rows={
        row: [plan for study in studies
              for plan in plan_studies(options.notebooks_dir, [study], options.params_file,
                                       _overrides(options, bug, available[study], study))]
        for row, (bug, studies) in rows.items()
    })


def _overrides(options: ZooOptions, bug: str | None, notebook: Path,
               study: str) -> dict[str, Any]:
    """The user's overrides, the row's bug and, unless --shrink, no shrinking: the zoo asks
    whether a bug is caught, and a minimal case per bug would double its time."""
    overrides = {**options.overrides, BUG_PARAMETER: bug or ""}
    if (not options.shrink and SHRINK_PARAMETER not in overrides
            and SHRINK_PARAMETER in declared_parameters(study, notebook)):
        overrides[SHRINK_PARAMETER] = 0.0
    return overrides


def run_zoo(options: ZooOptions, echo: Callable[[str], None] = print) -> ZooResult:
    """Run the baseline, then every bug's studies; write zoo.json, zoo.csv and zoo.html
    (after every study, and what finished on Ctrl-C)."""
    plan = plan_zoo(options)
    git = git_info()
    with claim_run_dir(options.out_dir, options.outputs_root / "zoo", git) as (run_id, out_dir):
        return _run_rows(options, plan, git, run_id, out_dir, echo)


def _run_rows(options: ZooOptions, plan: ZooPlan, git: GitInfo, run_id: str, out_dir: Path,
              echo: Callable[[str], None]) -> ZooResult:
    selection = plan.selection
    run_options = RunOptions(timeout=options.timeout, coverage=False, notebooks_dir=options.notebooks_dir,
                             kernel_name=options.kernel_name, progress=options.progress)
    planned = [(row, plan.study) for row, plans in plan.rows.items() for plan in plans]
    progress = Progress(planned)
    echo(f"syncbench zoo {run_id}: {len(selection.bugs)} bug(s), {selection.cells} run(s) "
         f"after a baseline of {len(selection.baseline_studies)} -> {out_dir}")
    if selection.sample_seed is not None:
        echo(f"sample: {len(selection.bugs)} of {len(options.registry)} bugs by seed "
             f"{selection.sample_seed} ({', '.join(b.name for b in selection.bugs)}); again: "
             f"--sample {len(selection.bugs)} --seed {selection.sample_seed}")

    state = _ZooState(options, plan, git, run_id, out_dir, utc_now())
    try:
        for row, plans in plan.rows.items():
            bug = options.registry.get(row)
            for study_plan in plans:
                echo(progress.starting(row, study_plan.study))
                row_dir = out_dir / row_directory(row)
                row_dir.mkdir(exist_ok=True)
                reused = (reusable_baseline(options.baseline_dir, study_plan, echo)
                          if row == NO_BUG and options.baseline_dir else None)
                if reused is not None:
                    cell = state.add_reused(reused)
                    echo(progress.finished(row, study_plan.study, 0.0,
                                           f"{_described(cell)} (taken from "
                                           f"{options.baseline_dir})"))
                    continue
                outcome = run_study(study_plan, row_dir, run_options)
                cell = state.add(row, bug, outcome)
                echo(progress.finished(row, study_plan.study, cell.duration_s, _described(cell)))
    except KeyboardInterrupt:
        state.interrupted = True
        echo("syncbench zoo: interrupted; writing what finished")
    verdict = state.write()
    echo(f"syncbench zoo {run_id}: {verdict.status.upper()}: {verdict.text}; "
         f"open {out_dir / 'zoo.html'}")
    return ZooResult(run_id=run_id, out_dir=out_dir, cells=state.cells,
                     verdicts=state.verdicts(), verdict=verdict)


class _ZooState:
    """What has finished so far, and writing it (the row's run files and the matrix)."""

    def __init__(self, options: ZooOptions, plan: ZooPlan, git: GitInfo, run_id: str,
                 out_dir: Path, started_at: str) -> None:
        self.options, self.plan, self.git = options, plan, git
        self.run_id, self.out_dir, self.started_at = run_id, out_dir, started_at
        self.cells: list[Cell] = []
        self.outcomes: dict[str, list[StudyOutcome]] = {}
        self.summaries: dict[str, list[dict[str, Any]]] = {}
        self.interrupted = False
        self.clock_start = time.monotonic()

    def add(self, row: str, bug: SeededBug | None, outcome: StudyOutcome) -> Cell:
        """Record a finished study: its summary, its row's run files, the matrix so far."""
        summary = study_summary(outcome, self.git, self.run_id)
        row_dir = self.out_dir / row_directory(row)
        _write_json(row_dir / f"{outcome.study}.summary.json", summary)
        self.outcomes.setdefault(row, []).append(outcome)
        self.summaries.setdefault(row, []).append(summary)
        # the row is a run of its own: summary.json and index.html, as `syncbench run` leaves
        run_info = run_summary(self.summaries[row], self.git, self.run_id, self.started_at,
                               _source(self.options), self.options.overrides,
                               exit_code(self.outcomes[row]))
        _write_json(row_dir / "summary.json", run_info)
        (row_dir / "index.html").write_text(index_html(run_info), encoding="utf-8")
        cell = classify(bug, summary)
        self.cells.append(cell)
        self.write()
        return cell

    def add_reused(self, summary: dict[str, Any]) -> Cell:
        """A baseline study taken from an earlier run (`reusable_baseline`): its summary is
        copied into the baseline's row, with where it came from."""
        _write_json(self.out_dir / row_directory(NO_BUG) / f"{summary['study']}.summary.json",
                    summary)
        cell = classify(None, summary)
        self.cells.append(cell)
        self.write()
        return cell

    def verdicts(self) -> list[BugVerdict]:
        selection = self.plan.selection
        return [bug_verdict(bug, [c for c in self.cells if c.bug == bug.name],
                            len(selection.studies[bug.name])) for bug in selection.bugs]

    def write(self) -> ZooVerdict:
        """Write zoo.json, zoo.csv and zoo.html over what finished; the verdict so far."""
        verdicts = self.verdicts()
        verdict = zoo_verdict(verdicts, self.cells, self.interrupted)
        selection = self.plan.selection
        baseline = self.plan.rows[NO_BUG]
        run = {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": utc_now(),
            "duration_s": round(time.monotonic() - self.clock_start, 3),
            "interrupted": self.interrupted,
            "params_file": _source(self.options),
            "overrides": self.options.overrides,
            "timeout_s": self.options.timeout,
            "sample": None if selection.sample_seed is None else {
                "size": len(selection.bugs), "seed": selection.sample_seed,
                "of": len(self.options.registry)},
            "git": self.git.to_dict(),
            # each study's parameters as the baseline ran them; a bug row differs only in
            # seeded_bug (each study summary under <bug>/ has its own)
            "parameters": {p.study: p.parameters for p in baseline},
            "seeds": {p.study: p.seed for p in baseline},
        }
        document = zoo_document(run=run, studies=list(selection.baseline_studies),
                                cells=self.cells, verdicts=verdicts, verdict=verdict)
        write_artifacts(self.out_dir, document, self.cells, dict(self.options.registry))
        return verdict


# what the zoo sets itself in every row: a baseline run without it is still the same run
ZOO_SET = frozenset({BUG_PARAMETER, SHRINK_PARAMETER})


def reusable_baseline(run_dir: Path | None, plan: StudyPlan,
                      echo: Callable[[str], None]) -> dict[str, Any] | None:
    """`plan`'s study summary from `run_dir` (a `syncbench run` output) when it ran the same
    parameters and seed with no bug, so the zoo need not run its baseline again; None (and
    why, echoed) otherwise: the zoo then runs it."""
    if run_dir is None:
        return None
    path = run_dir / f"{plan.study}.summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        echo(f"baseline {plan.study}: not taken from {run_dir} ({exc}); running it")
        return None
    ran = {k: v for k, v in (summary.get("parameters") or {}).items() if k not in ZOO_SET}
    wanted = {k: v for k, v in plan.parameters.items() if k not in ZOO_SET}
    differing = sorted(k for k in ran.keys() | wanted.keys()
                       if json_ready(ran.get(k)) != json_ready(wanted.get(k)))
    if (summary.get("parameters") or {}).get(BUG_PARAMETER):
        differing.append(BUG_PARAMETER)
    if differing:
        echo(f"baseline {plan.study}: not taken from {path} (it ran other "
             f"{', '.join(differing)}); running it")
        return None
    return {**summary, "reused_from": str(path)}


def _described(cell: Cell) -> str:
    if cell.outcome == CAUGHT:
        return f"CAUGHT by {', '.join(cell.catching_checks)}"
    if cell.outcome == ERROR:
        return "ERROR: " + (cell.reason or f"only unknown verdicts ({', '.join(cell.unknown_checks)})")
    failed = f" (failed: {', '.join(cell.failed_checks)})" if cell.failed_checks else ""
    return f"{cell.outcome.upper()}{failed}"


def _source(options: ZooOptions) -> str | None:
    return str(options.params_file) if options.params_file else None


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_ready(data), indent=2) + "\n", encoding="utf-8")

