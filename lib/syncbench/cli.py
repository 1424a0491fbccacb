"""The `syncbench` command: `syncbench run [STUDY ...] --params params/smoke.yaml`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from syncbench.params import ParameterError, parse_overrides
from syncbench.runner.plan import plan_studies
from syncbench.runner.run import DEFAULT_CELL_TIMEOUT_S, RunOptions, run

EXIT_BAD_INPUT = 2


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
@click.option("--timeout", type=float, default=DEFAULT_CELL_TIMEOUT_S, show_default=True,
              help="Seconds a single cell may run (0: no limit).")
@click.option("--notebooks", "notebooks_dir", type=PATH, default=Path("notebooks"),
              show_default=True, help="Where study notebooks live.")
@click.option("--list", "list_only", is_flag=True,
              help="List the studies and their parameters, run nothing.")
@click.option("--replay", type=PATH,
              help="Run a study again as it ran: a <study>.summary.json from a run's output "
              "directory (same parameters, seed and fault schedule).")
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
    try:
        if list_only:
            _list_studies(notebooks_dir, studies)
            return
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
    except ParameterError as exc:
        click.echo(f"syncbench: error: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        click.echo("syncbench: interrupted", err=True)
        sys.exit(130)
    sys.exit(result.exit_code)


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
