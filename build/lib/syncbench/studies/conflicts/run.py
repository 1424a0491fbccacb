"""`run(params)`: the matrix, the generated contests, the clock-skew sweep, then heal ->
quiesce -> final reads."""

from __future__ import annotations

import asyncio
import time

import pandas as pd

from syncbench.metric import S
from syncbench.paths import paths_reached
from syncbench.stack import Stack, StackConfig
from syncbench.studies.conflicts.analysis import analyse
from syncbench.studies.conflicts.params import ConflictParams
from syncbench.studies.conflicts.paths import conflict_paths
from syncbench.studies.conflicts.phases import CELL_TIMEOUT_S, GROUP_A, GROUP_B, ConflictRun
from syncbench.studies.conflicts.play import contest_cell, run_contest
from syncbench.studies.conflicts.scenarios import CellRecord, run_cell
from syncbench.studies.conflicts.shrinking import shrink_contests
from syncbench.studies.conflicts.sweep import TrialRecord, run_skew_trial
from syncbench.studies.conflicts.workload import SkewTrial, plan_workload
from syncbench.study import StudyResult, enable_seeded_bug, seeded_bug_options

STUDY = "conflicts"


async def run(params: ConflictParams | None = None) -> StudyResult:
    """Run the matrix and the clock-skew sweep on a fresh Stack; the result with its checks."""
    params = params or ConflictParams()
    with enable_seeded_bug(params):  # a client or replica bug is on for this run only
        result = await _run(params)
        if params.shrink_budget_s > 0 and not result.passed:
            result.minimal = await shrink_contests(params, result, _run)
        return result


async def _run(params: ConflictParams) -> StudyResult:
    workload = plan_workload(params)
    options = seeded_bug_options(params)
    print(f"conflicts: {len(workload.cells)} cells, {len(workload.contests)} generated "
          f"contests, {len(workload.trials)} skew trials,"
          f" seed {params.seed}" + (f", seeded bug {params.seeded_bug}" if params.seeded_bug
                                    else "")
          + (f", given schedule of {len(params.schedule)} windows" if params.schedule else ""))
    # the sweep moves the server's real clock (libfaketime); a replay's schedule may too
    fake_clock = any(t.skew_s for t in workload.trials) or any(
        window.get("fault") == "clock" for window in params.schedule)
    async with Stack(StackConfig(groups=(GROUP_A, GROUP_B), server_options=options,
                                 fake_clock=fake_clock, store=params.store)) as stack:
        conflict_run = ConflictRun(stack, params)
        started = time.monotonic()
        cells: list[CellRecord] = []
        for cell in workload.cells:
            async with asyncio.timeout(CELL_TIMEOUT_S):
                cells.append(await run_cell(conflict_run, cell))
        matrix_s = time.monotonic() - started

        started = time.monotonic()
        if workload.contests:
            print(f"  generated contests: {len(workload.contests)}"
                  + (" (given)" if params.contests else ""))
        for spec in workload.contests:
            async with asyncio.timeout(CELL_TIMEOUT_S):
                cells.append(await run_contest(conflict_run, spec))
        contests_s = time.monotonic() - started

        started = time.monotonic()
        trials: list[TrialRecord] = []
        if workload.trials:
            print(f"  clock-skew sweep: {len(workload.trials)} last_write_wins trials")
            limit = asyncio.Semaphore(params.concurrency)

            async def bounded(trial: SkewTrial) -> TrialRecord:
                async with limit, asyncio.timeout(CELL_TIMEOUT_S):
                    return await run_skew_trial(conflict_run, trial)

            trials = list(await asyncio.gather(*(bounded(t) for t in workload.trials)))
        sweep_s = time.monotonic() - started

        healed = await conflict_run.heal()
        unquiesced = await conflict_run.quiesce()
        units = [*workload.cells, *(contest_cell(spec) for spec in workload.contests),
                 *workload.trials]
        final = await conflict_run.final_reads(units)
        final.unquiesced = unquiesced
        environment = {"toxiproxy_version":
                       stack.toxiproxy_info.version if stack.toxiproxy_info else "",
                       "store": stack.store_description()}
    history = conflict_run.history
    history.complete_pending()
    frames, checks, metrics = analyse(cells, trials, final, conflict_run.reported, history)
    metrics.add("matrix_duration_s", round(matrix_s, 2), S)
    metrics.add("generated_contests_duration_s", round(contests_s, 2), S)
    metrics.add("sweep_duration_s", round(sweep_s, 2), S)
    metrics.add("faults_healed_at_end", healed)
    metrics.add("replicas_not_quiesced", len(unquiesced))
    _print_outcomes(frames["outcomes"])
    result = StudyResult(study=STUDY, params=params, checks=checks, metrics=metrics,
                         frames=frames, history=history, schedule=conflict_run.played,
                         environment=environment)
    result.checks.append(paths_reached(result, conflict_paths(params)))
    return result


def _print_outcomes(outcomes: pd.DataFrame) -> None:
    nominal = outcomes[outcomes["workload"] == "nominal"]
    for scenario, rows in nominal.groupby("scenario", sort=False):
        print(f"  {scenario}: " + ", ".join(f"{row.strategy}={row.outcome}"
                                            for row in rows.itertuples(index=False)))
    generated = outcomes[outcomes["workload"] == "generated"]
    if len(generated):
        counts = generated["outcome"].value_counts()
        print("  generated contests: " + ", ".join(f"{name} {count}"
                                                   for name, count in counts.items()))


__all__ = ["STUDY", "run"]
