"""`syncbench sweep`: one study over many seeds (and a grid of parameter values) as Ray
tasks, and the report of what they found, written after every finished instance.

    <out>/sweep.json   the verdict, per-cell failure rates, failing checks with seeds and
                       replay commands, every instance
    <out>/sweep.html   the same, verdict first
    <out>/sweep.csv    one row per instance
    <out>/runs/<run>/  a run that did not pass: all its artifacts (notebook, report,
                       data, console.log); a passing run: its <study>.summary.json only
"""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncbench.files import replace_text
from syncbench.ray_cluster import Cluster
from syncbench.runner.run import DEFAULT_CELL_TIMEOUT_S
from syncbench.runner.run_dir import claim_run_dir
from syncbench.runner.summary import GitInfo, git_info, utc_now
from syncbench.sweep.instance import InstanceJob, InstanceOutcome
from syncbench.sweep.page import sweep_html
from syncbench.sweep.progress import SweepProgress
from syncbench.sweep.ray_pool import RayPool
from syncbench.sweep.report import (
    EXIT_CODES,
    PASS,
    Finished,
    cell_rows,
    check_rows,
    checks_with,
    sweep_verdict,
)
from syncbench.sweep.spec import SweepPlan, cell_label, grid, plan_sweep, seeds

DEFAULT_INSTANCE_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class SweepOptions:
    study: str
    seeds: str  # "1-200", "1,5,9-12"
    grid: tuple[str, ...] = ()  # "name=v1,v2"
    params_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    address: str | None = None  # a Ray cluster; None: RAY_ADDRESS, else a local Ray
    parallel: int | None = None  # instances at once; None: one per CPU of the cluster
    instance_timeout_s: float | None = DEFAULT_INSTANCE_TIMEOUT_S
    cell_timeout_s: float | None = DEFAULT_CELL_TIMEOUT_S
    out_dir: Path | None = None
    outputs_root: Path = Path("outputs")
    notebooks_dir: Path = Path("notebooks")
    shrink: bool = False  # let studies shrink failing runs (slower; off: shrink_budget_s=0)


@dataclass
class SweepResult:
    run_id: str
    out_dir: Path
    status: str
    text: str
    finished: list[Finished]

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def run_sweep(options: SweepOptions, echo: Callable[[str], None] = print) -> SweepResult:
    """Plan every instance (ParameterError before anything runs), connect to Ray, run them
    and write the report as they finish; on Ctrl-C, stop them and write what finished."""
    plan = plan_sweep(options.notebooks_dir, options.study, options.params_file,
                      options.overrides, grid(options.grid), seeds(options.seeds),
                      shrink=options.shrink)
    git = git_info()
    with claim_run_dir(options.out_dir, options.outputs_root / "sweeps", git) as (run_id,
                                                                                  out_dir):
        pool = RayPool.connect(options.address, options.parallel)
        state = _SweepState(options, plan, git, run_id, out_dir, pool.cluster, pool.parallel)
        state.write()
        echo(f"syncbench sweep {run_id}: {plan.study}, {len(plan.seeds)} seed(s) x "
             f"{len(plan.cells)} cell(s) = {len(plan.instances)} run(s) on "
             f"{_where(pool.cluster)}, {pool.parallel} at once -> {out_dir}")
        progress = SweepProgress(len(plan.instances), pool.parallel)
        jobs = [InstanceJob(index=i.index, study=plan.study, seed=i.seed,
                            parameters=i.parameters,
                            notebooks_dir=str(options.notebooks_dir.resolve()),
                            timeout_s=options.instance_timeout_s,
                            cell_timeout_s=options.cell_timeout_s) for i in plan.instances]
        try:
            with pool:
                for job, outcome in pool.run(jobs):
                    item = state.add(job, outcome)
                    cell = plan.cells[item.cell]
                    echo(progress.line(item, cell_label(cell) if cell else ""))
        except KeyboardInterrupt:
            state.interrupted = True
            echo("syncbench sweep: interrupted; writing what finished")
        status, text = state.write(final=True)
        echo(f"syncbench sweep {run_id}: {status.upper()}: {text}; open "
             f"{out_dir / 'sweep.html'}")
        return SweepResult(run_id, out_dir, status, text, state.finished)


def _where(cluster: Cluster) -> str:
    if cluster.address == "local":
        return f"a local Ray ({cluster.cpus:g} CPUs)"
    return f"Ray at {cluster.address} ({cluster.nodes} nodes, {cluster.cpus:g} CPUs)"


class _SweepState:
    """What has finished so far, and writing it."""

    def __init__(self, options: SweepOptions, plan: SweepPlan, git: GitInfo, run_id: str,
                 out_dir: Path, cluster: Cluster, parallel: int) -> None:
        self.options, self.plan, self.git = options, plan, git
        self.run_id, self.out_dir = run_id, out_dir
        self.cluster, self.parallel = cluster, parallel
        self.started_at = utc_now()
        self.clock_start = time.monotonic()
        self.finished: list[Finished] = []
        self.interrupted = False

    def add(self, job: InstanceJob, outcome: InstanceOutcome) -> Finished:
        instance = self.plan.instances[job.index]
        run_dir, summary_file = self._keep(instance.cell, job.seed, outcome)
        item = Finished(index=job.index, cell=instance.cell, seed=job.seed,
                        status=outcome.status, duration_s=outcome.duration_s,
                        failed_checks=checks_with(outcome.summary, "fail"),
                        unknown_checks=checks_with(outcome.summary, "unknown"),
                        reason=outcome.reason, run_dir=run_dir, summary_file=summary_file)
        self.finished.append(item)
        self.write()
        return item

    def _keep(self, cell: int, seed: int, outcome: InstanceOutcome
              ) -> tuple[str | None, str | None]:
        """A run that did not pass: everything it wrote; one that passed: its summary."""
        if outcome.summary is None and outcome.artifacts is None:
            return None, None
        name = f"seed-{seed}" if len(self.plan.cells) == 1 else f"cell-{cell}-seed-{seed}"
        folder = self.out_dir / "runs" / name
        folder.mkdir(parents=True, exist_ok=True)
        if outcome.artifacts is not None and outcome.status != PASS:
            with zipfile.ZipFile(io.BytesIO(outcome.artifacts)) as archive:
                archive.extractall(folder)
        summary_name = f"{self.plan.study}.summary.json"
        if outcome.summary is not None:
            replace_text(folder / summary_name, json.dumps(outcome.summary, indent=2, default=str))
        relative = folder.relative_to(self.out_dir).as_posix()
        return relative, (f"{relative}/{summary_name}" if outcome.summary is not None
                          else None)

    def write(self, final: bool = False) -> tuple[str, str]:
        """sweep.json, sweep.html and sweep.csv over what finished; (status, text)."""
        planned = len(self.plan.instances)
        status, text = sweep_verdict(self.finished, planned, self.interrupted,
                                     running=not final)
        wall = time.monotonic() - self.clock_start
        serial = sum(f.duration_s for f in self.finished)
        notebooks = str(self.options.notebooks_dir)
        document = {
            "status": status, "text": text,
            "run": {
                "run_id": self.run_id, "study": self.plan.study,
                "started_at": self.started_at, "finished_at": utc_now(),
                "duration_s": round(wall, 3),
                # the instances' own durations added up: what one after another would take
                "instances_total_s": round(serial, 3),
                "parallel": self.parallel, "ray": self.cluster.to_dict(),
                "interrupted": self.interrupted,
                "params_file": (str(self.options.params_file) if self.options.params_file
                                else None),
                "overrides": self.options.overrides, "grid": list(self.options.grid),
                "seeds": self.plan.seeds, "planned": planned, "finished": len(self.finished),
                "instance_timeout_s": self.options.instance_timeout_s,
                "notebooks": notebooks, "git": self.git.to_dict()},
            "cells": cell_rows(self.plan.cells, self.finished,
                               len(self.plan.seeds)),
            "checks": check_rows(self.plan.cells, self.finished, self.out_dir, notebooks),
            "instances": [item.to_dict() for item in
                          sorted(self.finished, key=lambda f: f.index)],
        }
        replace_text(self.out_dir / "sweep.json", json.dumps(document, indent=2, default=str))
        replace_text(self.out_dir / "sweep.csv", _csv(document["instances"]))
        replace_text(self.out_dir / "sweep.html", sweep_html(document))
        return status, text


def _csv(instances: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    columns = ["index", "cell", "seed", "status", "duration_s", "failed_checks",
               "unknown_checks", "reason", "run_dir", "summary"]
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for row in instances:
        writer.writerow({**row, "failed_checks": " ".join(row["failed_checks"]),
                         "unknown_checks": " ".join(row["unknown_checks"])})
    return buffer.getvalue()


__all__ = ["DEFAULT_INSTANCE_TIMEOUT_S", "SweepOptions", "SweepResult", "run_sweep"]
