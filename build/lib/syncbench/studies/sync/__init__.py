"""Bidirectional sync study: offline-first replicas and live subscribers under network profiles.

For each network profile a fresh Stack (a new `tasksync serve`, a new Toxiproxy, fresh
SQLite files, the profile on every proxy) runs the same seeded workload, so the profiles are
compared on identical work and nothing (server state, the seeded-bug counter, leftover
toxics) leaks from one profile into the next:

- N replicas (tasksync.replica.Replica), each behind its own proxy, run a seeded mix of
  local creates, updates and deletes, with periodic syncs between them. Local edits and
  syncs are operations of one History.
- M WebSocket subscribers, each behind its own proxy, follow every repository from seq 0,
  in the study's process or spread over `subscriber_actors` Ray actors (their deliveries
  merge into one record, arrivals moved onto this process's clock; order is the seq).
- The nemesis plays the cut-offs, each an `offline` fault on a proxy group, in seconds from
  the workload's start, with the profile as its phase: `offline_replicas` replicas are cut
  off once for `offline_s` (their syncs fail meanwhile, their edits queue), every subscriber
  once for `subscriber_outage_s` (it must resume from its last seq). The windows come from
  the seed (`workload.fault_schedule`), or from `schedule` when given (a replay).
- With `workload: generated` (the default) the work is instead a seeded operation schedule
  (syncbench.explore.generate): HTTP clients, replicas and subscribers doing everything the
  protocol allows, boundary values and races on purpose; `operations` replays a given one.
  Replicas go offline through their own ops; the nemesis cuts subscribers and the first
  HTTP client off (`workload.generated_fault_schedule`).
- Heal, then quiesce: every replica syncs in rounds until all replicas and the server hold
  identical tasks and every outbox is empty (deadline `converge_timeout_s`); the time from
  the last write's completion to that moment is the convergence time. Subscribers then get
  `delivery_timeout_s` to reach the last seq. Then the final reads.

Modules: `params` (SyncParams), `workload` (the seeded plan and its fault schedule),
`phases` (one profile's run), `generated` (one profile's run of a generated workload), `checks` (acknowledged changes, settled), `analysis` (frames,
the six checks, metrics; SyncResult).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from syncbench.explore import generate, op_counts
from syncbench.history import History
from syncbench.nemesis import FaultSchedule
from syncbench.paths import paths_reached
from syncbench.studies.sync.analysis import SyncResult, assemble
from syncbench.studies.sync.generated import Watch, run_generated_profile
from syncbench.studies.sync.params import SYNC_STRATEGIES, SyncParams
from syncbench.studies.sync.paths import sync_paths
from syncbench.studies.sync.phases import (
    REPLICA_RETRY,
    SUBSCRIBER_RECONNECT,
    ProfileRun,
    run_profile,
)
from syncbench.studies.sync.shrinking import first_failure, shrink_failure
from syncbench.studies.sync.workload import (
    content_key,
    fault_schedule,
    generated_fault_schedule,
    operations_of,
    plan_workload,
)
from syncbench.study import Study, enable_seeded_bug, register
from syncbench.verdict import CheckResult


async def run(params: SyncParams) -> SyncResult:
    """Run the workload under each profile on a fresh stack; the frames, checks and metrics."""
    with enable_seeded_bug(params):  # a client or replica bug is on for this run only
        if not params.generated:
            result = await _run(params)
        else:
            result = await _run_generated(params)
            if params.shrink_budget_s > 0:
                result.minimal = await _shrunk(params, result)
        result.checks.append(paths_reached(result, sync_paths(params)))
        return result


async def _run(params: SyncParams) -> SyncResult:
    workload = plan_workload(params)
    schedule = fault_schedule(params, workload)
    history = History()
    # the retry policies are data: every run records the ones it used
    environment = {"toxiproxy_version": None, "replica_retry": repr(REPLICA_RETRY),
                   "subscriber_reconnect": repr(SUBSCRIBER_RECONNECT)}
    runs = []
    for profile in params.profiles:
        print(f"sync study: profile {profile}: {params.replicas} replicas, "
              f"{params.subscribers} subscribers, {len(schedule.for_phase(profile))} faults, "
              f"seed {params.seed}", flush=True)
        profile_run = ProfileRun(profile, history)
        await run_profile(params, workload, schedule, profile_run, environment)
        runs.append(profile_run)
        outcome = profile_run.outcome
        print(f"sync study: profile {profile}: converged={outcome['converged']} in "
              f"{outcome['convergence_s']:.2f}s after the last write", flush=True)
    return assemble(params, history, runs, environment)


async def _run_generated(params: SyncParams) -> SyncResult:
    """The generated workload (or the given `operations`) under each profile."""
    return await run_generated(params, generated_fault_schedule)


async def run_generated(params: SyncParams,
                        plan_faults: Callable[[SyncParams, list[dict]], FaultSchedule],
                        watch: Watch | None = None) -> SyncResult:
    """The generated workload (or the given `operations`) under each profile, with the fault
    schedule `plan_faults` gives for it (the crash study brings its own); `watch` observes
    each profile's stack while it runs (rows into the result's frames)."""
    study = params.study_name or "sync"
    operations = [dict(op) for op in params.operations] or generate(params, params.seed)
    schedule = plan_faults(params, operations)
    history = History()
    environment: dict[str, Any] = {"toxiproxy_version": None}
    counts = op_counts(operations)
    runs = []
    for profile in params.profiles:
        print(f"{study} study: profile {profile}: generated workload, {len(operations)} "
              f"operations ({len(counts)} kinds), {params.http_clients} HTTP clients, "
              f"{params.replicas} replicas, {params.cli_replicas} CLI replicas, "
              f"{params.subscribers} subscribers, {len(schedule.for_phase(profile))} faults, "
              f"seed {params.seed}", flush=True)
        profile_run = ProfileRun(profile, history)
        started = time.monotonic()
        await run_generated_profile(params, operations, schedule, profile_run, environment,
                                    watch)
        runs.append(profile_run)
        outcome = profile_run.outcome
        print(f"{study} study: profile {profile}: converged={outcome['converged']} in "
              f"{outcome['convergence_s']:.2f}s after the last write; the profile took "
              f"{time.monotonic() - started:.1f}s", flush=True)
    return assemble(params, history, runs, environment, operations)


async def _shrunk(params: SyncParams, result: SyncResult,
                  plan_faults: Callable[[SyncParams, list[dict]], FaultSchedule]
                  = generated_fault_schedule) -> dict[str, Any] | None:
    """The failing run shrunk to a minimal one (see `shrinking`), or None when it passed."""
    failure = first_failure(result.checks, params.profiles)
    if failure is None:
        return None
    check, profile = failure
    operations = operations_of(result.frames["workload"])
    # the schedule the run played (a planner may have paced the workload to it: drawn
    # again from the recorded, paced operations it could come out otherwise)
    schedule = [dict(window) for window in params.schedule or result.schedule] or [
        w.to_dict() for w in plan_faults(params, operations).faults]
    steps_by_op = {op.op_id: int(op.args["step"]) for op in result.history.operations
                   if isinstance(op.args.get("step"), int)}

    async def trial(candidate: SyncParams) -> list[CheckResult]:
        return (await run_generated(candidate, plan_faults)).checks

    print(f"{params.study_name or 'sync'} study: {check.name} failed under {profile}: shrinking its schedule "
          f"(budget {params.shrink_budget_s:g}s)", flush=True)
    return await shrink_failure(params, operations, schedule, check, profile, steps_by_op,
                                trial)


STUDY = register(Study("sync", SyncParams, run, "sync.ipynb",
                       "replicas offline and online, subscribers resuming: convergence, "
                       "delivery, no lost or duplicated write"))

__all__ = ["STUDY", "SYNC_STRATEGIES", "SyncParams", "SyncResult", "content_key",
           "fault_schedule", "plan_workload", "run", "run_generated", "shrunk"]

shrunk = _shrunk  # the crash study shrinks its failing runs the same way
