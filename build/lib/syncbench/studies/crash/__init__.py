"""Crash-recovery study: writers, CLI replicas and WebSocket subscribers work while the
nemesis crashes, restarts, pauses and re-clocks the server, partitions clients (both ways,
or only their replies), kills CLI replicas mid-sync and fails storage.

The workload is the sync study's generated one (syncbench.explore: HTTP clients, in-process
and CLI replicas, subscribers and their WebSocketClient listeners) on one fresh stack per
profile; the schedule is drawn from the seed (`schedule.py`) or given (`--replay`). After
heal the driver's final sync rounds and drain run, then every check of a generated sync
run judges it: no acknowledged write lost, none applied twice, every subscriber's feed
without a gap, every replica's outbox pushed exactly once, replicas and server converged.
The study adds the time to recover after each fault (`recovery`, `recovery_summary`) and
the paths its faults must exercise (`faults_bite`, syncbench.paths): a fault kind that
never bit leaves its path unreached, and the run does not pass.

Modules: `params` (CrashParams), `schedule` (the seeded fault schedule), `analysis`
(recovery and paths).
"""

from __future__ import annotations

from syncbench.metric import S
from syncbench.paths import paths_reached
from syncbench.studies.crash.analysis import (
    declared_paths,
    recovery_frame,
    recovery_summary,
    windows_of,
)
from syncbench.studies.crash.params import CRASH_FAULTS, CrashParams
from syncbench.studies.crash.schedule import crash_schedule, plan_crash
from syncbench.studies.sync import run_generated, shrunk
from syncbench.studies.sync.analysis import SyncResult
from syncbench.study import Study, enable_seeded_bug, register


async def run(params: CrashParams) -> SyncResult:
    """The generated workload under the crash schedule; the generated checks, recovery
    times and the paths the faults reached."""
    with enable_seeded_bug(params):
        result = await run_generated(params, plan_crash)
        add_recovery(result)
        if params.shrink_budget_s > 0:
            result.minimal = await shrunk(params, result, plan_crash)
        return result


def add_recovery(result: SyncResult) -> None:
    """Recovery frames and metrics, and the `faults_bite` check, onto `result`."""
    recovery = recovery_frame(result.frames)
    summary = recovery_summary(recovery)
    result.frames["recovery"] = recovery
    result.frames["recovery_summary"] = summary
    for row in summary.to_dict(orient="records"):
        for stat in ("median_s", "p99_s"):
            value = row[stat]
            result.metrics.add(f"recovery_{row['choice']}_{stat}",
                               None if value != value else round(float(value), 4), S)
    played = {window["choice"] for window in windows_of(result.frames)}
    result.checks.append(paths_reached(result, declared_paths(sorted(played))))
    for name, entry in result.paths.items():
        print(f"crash study: path {name}: reached {entry['count']} times", flush=True)


STUDY = register(Study("crash", CrashParams, run, "crash.ipynb",
                       "server crashes, restarts, pauses and clock faults, partitions and "
                       "client crashes: nothing lost or doubled, feeds resume, recovery times"))

__all__ = ["CRASH_FAULTS", "STUDY", "CrashParams", "add_recovery", "crash_schedule", "run"]
