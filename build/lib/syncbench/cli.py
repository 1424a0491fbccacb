"""The `syncbench` command: `syncbench run [STUDY ...] --params params/smoke.yaml`,
`syncbench zoo` (every study against every seeded bug), `syncbench sweep` (a study over
many seeds on Ray) and `syncbench compare A B`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from syncbench.params import ParameterError, parse_overrides
from syncbench.runner.interrupts import interrupt_name, terminating_interrupts
from syncbench.runner.plan import plan_studies
from syncbench.runner.run import DEFAULT_CELL_TIMEOUT_S, RunOptions, run
from tasksync.cli_types import FiniteFloat

EXIT_BAD_INPUT = 2


@contextmanager
def bad_input_and_interrupts(command: str) -> Iterator[None]:
    """Bad input: one line and exit 2; Ctrl-C or SIGTERM before the command's own handling
    began: one line and exit 130."""
    try:
        with terminating_interrupts():
            yield
    except ParameterError as exc:
        click.echo(f"{command}: error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt as exc:
        click.echo(f"{command}: interrupted by {interrupt_name(exc)}", err=True)
        sys.exit(130)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="syncbench")
def main() -> None:
    """syncbench: run the study notebooks and keep their verdicts, charts and data."""


PATH = click.Path(path_type=Path)


@main.command("run")
@click.argument("studies", nargs=-1)
@click.option("--params", "params_file", type=PATH,
              help="Parameter set (YAML), e.g. params/smoke.yaml. Default: each study's defaults.")
@click.option("-p", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a parameter in every selected study (value read as YAML).")
@click.option("--out", "out_dir", type=PATH,
              help="Output directory. Default: outputs/<UTC timestamp>-<git rev>.")
@click.option("--timeout", type=FiniteFloat(min=0), default=DEFAULT_CELL_TIMEOUT_S, show_default=True,
              help="Seconds a single cell may run (0: no limit).")
@click.option("--notebooks", "notebooks_dir", type=PATH, default=Path("notebooks"),
              show_default=True, help="Where study notebooks live.")
@click.option("--list", "list_only", is_flag=True,
              help="List the studies and their parameters, run nothing.")
@click.option("--replay", type=PATH,
              help="Run a study again: a <study>.summary.json from a run's output directory "
              "(same parameters, seed and fault schedule), or a <study>.minimal.json (the "
              "shrunk failing case: its operations and fault schedule).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show Papermill's per-cell progress bar.")
@click.option("--coverage/--no-coverage", default=True, show_default=True,
              help="Measure which lines of lib/tasksync the studies run (kernel, servers, CLI "
              "processes); reported in summary.json, index.html and <out>/coverage/html/.")
def run_command(
    studies: tuple[str, ...],
    params_file: Path | None,
    overrides: tuple[str, ...],
    out_dir: Path | None,
    timeout: float,
    notebooks_dir: Path,
    list_only: bool,
    replay: Path | None,
    progress: bool,
    coverage: bool,
) -> None:
    """Run STUDY notebooks (default: those in --params, else all) and write the artifacts.

    Exit code: 0 all checks passed, 1 a check failed (or is unknown: what it needs was never
    reached), 2 a study could not run or the input was bad.
    """
    if list_only:
        with bad_input_and_interrupts("syncbench"):
            _list_studies(notebooks_dir, studies)
        return
    with bad_input_and_interrupts("syncbench"):  # Ctrl-C before the first study began
        options = RunOptions(
            studies=studies,
            params_file=params_file,
            overrides=parse_overrides(overrides),
            out_dir=out_dir,
            timeout=timeout if timeout > 0 else None,
            notebooks_dir=notebooks_dir,
            progress=progress,
            replay=replay,
            coverage=coverage,
        )
        result = run(options, echo=lambda line: click.echo(line, err=True))
    if result.exit_code == 130:
        click.echo(f"syncbench: interrupted; what ran is in {result.out_dir}", err=True)
    sys.exit(result.exit_code)


@main.command("zoo")
@click.option("--list", "list_only", is_flag=True,
              help="Print the seeded bugs, one a line (name, component, area, summary).")
@click.option("--params", "params_file", type=PATH,
              help="Parameter set (YAML) every row runs with, e.g. params/smoke.yaml.")
@click.option("-p", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a parameter in every study (not seeded_bug: use --bugs).")
@click.option("--bugs", metavar="A,B", help="Only these bugs (default: every bug).")
@click.option("--studies", metavar="S1,S2",
              help="Only these studies, or 'expected' for each bug's own (default: every study).")
@click.option("--sample", type=click.IntRange(min=1), metavar="N",
              help="Run N of the bugs, chosen by --seed.")
@click.option("--seed", type=int, help="Seed of --sample (printed; drawn when not given).")
@click.option("--out", "out_dir", type=PATH,
              help="Output directory. Default: outputs/zoo/<UTC timestamp>-<git rev>.")
@click.option("--timeout", type=FiniteFloat(min=0), default=DEFAULT_CELL_TIMEOUT_S, show_default=True,
              help="Seconds a single notebook cell may run (0: no limit).")
@click.option("--notebooks", "notebooks_dir", type=PATH, default=Path("notebooks"),
              show_default=True, help="Where study notebooks live.")
@click.option("--progress/--no-progress", default=False, show_default=True,
              help="Show Papermill's per-cell progress bar too.")
@click.option("--shrink/--no-shrink", default=False, show_default=True,
              help="Let studies shrink a failing run to a minimal one (slower; off: their "
                   "shrink_budget_s is set to 0).")
@click.option("--baseline", "baseline_dir", type=PATH,
              help="Take the no-bug baseline from this `syncbench run` output where it ran "
                   "the same parameters and seed (else run it).")
def zoo_command(
    list_only: bool,
    params_file: Path | None,
    overrides: tuple[str, ...],
    bugs: str | None,
    studies: str | None,
    sample: int | None,
    seed: int | None,
    out_dir: Path | None,
    timeout: float,
    notebooks_dir: Path,
    progress: bool,
    shrink: bool,
    baseline_dir: Path | None,
) -> None:
    """Run every study against every seeded bug (after a baseline with none) and write the
    detection matrix: zoo.json, zoo.csv and zoo.html.

    A bug is caught when a check of its class (its caught_by) fails; a crash, timeout or
    unknown verdict is not a catch. Exit code: 0 every bug caught by some study on a clean
    baseline, 1 otherwise, 2 bad input, 130 interrupted (what finished is written).
    """
    from syncbench.zoo import ZooOptions, run_zoo
    from syncbench.zoo.selection import split_names

    if list_only:
        _list_bugs()
        return
    # Ctrl-C before the first study ran (run_zoo handles it after)
    with bad_input_and_interrupts("syncbench zoo"):
        options = ZooOptions(
            bugs=split_names(bugs),
            studies=split_names(studies),
            sample=sample,
            seed=seed,
            params_file=params_file,
            overrides=parse_overrides(overrides),
            out_dir=out_dir,
            timeout=timeout if timeout > 0 else None,
            notebooks_dir=notebooks_dir,
            progress=progress,
            shrink=shrink,
            baseline_dir=baseline_dir,
        )
        result = run_zoo(options, echo=lambda line: click.echo(line, err=True))
    sys.exit(result.exit_code)


@main.command("sweep")
@click.argument("study")
@click.option("--params", "params_file", type=PATH,
              help="Parameter set (YAML) every run starts from, e.g. params/smoke.yaml.")
@click.option("--seeds", "seed_text", required=True, metavar="1-200",
              help="Seeds to run: N, A-B (inclusive) or a comma-separated list of those.")
@click.option("--grid", "grid_texts", multiple=True, metavar="NAME=V1,V2",
              help="Run every seed with each of these values of a parameter (values read as "
                   "YAML; repeat for more parameters: every combination runs).")
@click.option("-p", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a parameter in every run (value read as YAML).")
@click.option("--address", help="A running Ray cluster (ray://host:10001, or host:6379 on "
                                "one of its nodes). Default: RAY_ADDRESS, else a local Ray "
                                "sized to this machine.")
@click.option("--parallel", type=click.IntRange(min=1), metavar="N",
              help="Runs at once. Default: one per CPU of the Ray cluster.")
@click.option("--instance-timeout", type=FiniteFloat(min=0), default=1800.0,
              show_default=True, help="Seconds one run may take (0: no limit); then it is "
                                      "stopped and reported as a timeout.")
@click.option("--timeout", "cell_timeout", type=FiniteFloat(min=0),
              default=DEFAULT_CELL_TIMEOUT_S, show_default=True,
              help="Seconds a single notebook cell may run (0: no limit).")
@click.option("--out", "out_dir", type=PATH,
              help="Output directory. Default: outputs/sweeps/<UTC timestamp>-<git rev>.")
@click.option("--notebooks", "notebooks_dir", type=PATH, default=Path("notebooks"),
              show_default=True, help="Where study notebooks live.")
@click.option("--shrink/--no-shrink", default=False, show_default=True,
              help="Let studies shrink each failing run to a minimal one (slower; off: their "
                   "shrink_budget_s is 0, and a failing seed is shrunk by replaying it).")
def sweep_command(study: str, params_file: Path | None, seed_text: str,
                  grid_texts: tuple[str, ...], overrides: tuple[str, ...],
                  address: str | None, parallel: int | None, instance_timeout: float,
                  cell_timeout: float, out_dir: Path | None, notebooks_dir: Path,
                  shrink: bool) -> None:
    """Run STUDY once per seed (and grid cell) as Ray tasks, and report what failed.

    Writes sweep.json, sweep.html and sweep.csv (verdict first: the failure rate per grid
    cell, each failing check with its seeds and the exact command that replays the first
    one alone), the full artifacts of every run that did not pass, and the summary of each
    that did. Exit code: 0 every run passed, 1 a run failed a check (or left one unknown),
    2 bad input or runs that could not run, 130 interrupted (what finished is written).
    """
    from syncbench.sweep import SweepOptions, run_sweep

    # Ctrl-C before the first run began (run_sweep handles it after)
    with bad_input_and_interrupts("syncbench sweep"):
        options = SweepOptions(
            study=study, seeds=seed_text, grid=grid_texts, params_file=params_file,
            overrides=parse_overrides(overrides), address=address, parallel=parallel,
            instance_timeout_s=instance_timeout or None,
            cell_timeout_s=cell_timeout or None, out_dir=out_dir,
            notebooks_dir=notebooks_dir, shrink=shrink)
        result = run_sweep(options, echo=lambda line: click.echo(line, err=True))
    sys.exit(result.exit_code)


@main.command("compare")
@click.argument("base", type=PATH)
@click.argument("candidate", type=PATH)
@click.option("--base-repeat", "base_repeats", multiple=True, type=PATH, metavar="RUN",
              help="Another run of the base's parameters (repeatable): metrics take the "
                   "median, and the base's min..max is the noise band a change is judged by.")
@click.option("--candidate-repeat", "candidate_repeats", multiple=True, type=PATH,
              metavar="RUN", help="Another run of the candidate's parameters (repeatable).")
@click.option("--out", "out_dir", type=PATH,
              help="Where compare.html goes. Default: outputs/compare/<base>-vs-<candidate>/.")
def compare_command(base: Path, candidate: Path, base_repeats: tuple[Path, ...],
                    candidate_repeats: tuple[Path, ...], out_dir: Path | None) -> None:
    """Compare two `syncbench run` output directories: checks whose verdict changed, metrics
    with their change (and noise band, given repeats), parameters that differ, and charts of
    the candidate against the base in compare.html.

    Exit code: 0 no regression, 1 a check that passed in BASE does not in CANDIDATE (or a
    study ended worse), 2 bad input.
    """
    from syncbench.review.compare import compare_runs, load_run
    from syncbench.review.compare_page import compare_html, console_lines

    try:
        comparison = compare_runs([load_run(p) for p in (base, *base_repeats)],
                                  [load_run(p) for p in (candidate, *candidate_repeats)])
        out_dir = out_dir or Path("outputs") / "compare" / (
            f"{comparison.base[0].run_id}-vs-{comparison.candidate[0].run_id}")
        page = out_dir / "compare.html"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            page.write_text(compare_html(comparison), encoding="utf-8")
        except OSError as exc:
            raise ParameterError(f"--out {out_dir}: cannot write compare.html there "
                                 f"({exc.strerror or exc}); give a folder you can write"
                                 ) from None
    except ParameterError as exc:
        click.echo(f"syncbench compare: error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    for line in console_lines(comparison):
        click.echo(line)
    click.echo(f"open {page}")
    sys.exit(1 if comparison.regressed else 0)


@main.command("index")
@click.option("--outputs", "outputs_root", type=PATH, default=Path("outputs"),
              show_default=True, help="The folder the runs are kept in.")
def index_command(outputs_root: Path) -> None:
    """Write OUTPUTS/index.html over every run kept there: runs newest first, each study's
    headline metrics as trends, and the checks whose verdict flips between runs or seeds."""
    from syncbench.review.across_runs import write_runs_index

    if not outputs_root.is_dir():
        click.echo(f"syncbench index: error: {outputs_root} is not a folder; give --outputs "
                   "the folder `syncbench run` writes runs into", err=True)
        sys.exit(EXIT_BAD_INPUT)
    try:
        page = write_runs_index(outputs_root)
    except OSError as exc:
        click.echo(f"syncbench index: error: cannot write {outputs_root / 'index.html'}: "
                   f"{exc.strerror or exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(f"open {page}")


def _list_bugs() -> None:
    from tasksync.bugs import BUGS

    rows = [(bug.name, bug.component, bug.area, bug.summary) for bug in BUGS.values()]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
    for row in rows:
        click.echo("  ".join([*(row[i].ljust(widths[i]) for i in range(3)), row[3]]))


def _list_studies(notebooks_dir: Path, studies: tuple[str, ...]) -> None:
    plans = plan_studies(notebooks_dir, studies)
    if not plans:
        click.echo(f"no studies in {notebooks_dir}")
    for plan in plans:
        click.echo(f"{plan.study}  ({plan.notebook})")
        rows = [
            (p.name, p.type_name_shown, _show(p.default), p.help) for p in plan.declared.values()
        ]
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
        for row in rows:
            cells = [row[i].ljust(widths[i]) for i in range(3)]
            click.echo(("  " + "  ".join(cells) + ("  # " + row[3] if row[3] else "")).rstrip())
        if not rows:
            click.echo("  (no parameters cell)")


def _show(value: object) -> str:
    return value if type(value) is not str and isinstance(value, str) else repr(value)


__all__ = ["main"]

if __name__ == "__main__":
    main()
