"""The clock-skew sweep under last_write_wins: which of two writes `gap_s` apart survives.

An honest replica (side A) and a skewed one (side B) edit the same task; the skewed one's
clock is off by the trial's skew (a `clock` fault on it, the trial's fault slot) while it
writes. The write made later in real time is the newer one; the analysis compares it with
what the server kept.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from syncbench.studies.conflicts.phases import GROUP_A, GROUP_B, ConflictRun, OwnFault
from syncbench.studies.conflicts.workload import SkewTrial
from tasksync.clock import parse_rfc3339

STRATEGY = "last_write_wins"


@dataclass(frozen=True)
class TrialRecord:
    """When each write was made (wall clock; the honest one as the server stamped it), the
    values written and the winners the skewed client's push reported."""

    trial: SkewTrial
    honest_at: float
    skewed_at: float
    honest_value: str
    skewed_value: str
    winners: tuple[str, ...]


async def run_skew_trial(run: ConflictRun, trial: SkewTrial) -> TrialRecord:
    """One last_write_wins trial: the two writes in the trial's order, `gap_s` apart."""
    honest_name, skewed_name = f"{trial.repository}.H", f"{trial.repository}.S"
    honest = run.replica(honest_name, GROUP_A, trial, STRATEGY, "A")
    skewed = run.replica(skewed_name, GROUP_B, trial, STRATEGY, "B")
    op = run.local("H", "add", trial, content=f"base {trial.token}")
    honest.add(f"base {trial.token}", task_id=trial.task_id)
    op.ok()
    await run.sync(honest, STRATEGY, trial, "H")
    await run.sync(skewed, STRATEGY, trial, "S")
    honest_value, skewed_value = f"honest {trial.token}", f"skewed {trial.token}"
    own = [OwnFault("client_clock", skewed_name, {"skew_s": trial.skew_s})] if trial.skew_s else []

    async def honest_writes() -> float:
        edit = run.local("H", "edit", trial, content=honest_value)
        honest.edit(trial.task_id, content=honest_value)
        edit.ok()
        await run.sync(honest, STRATEGY, trial, "H")
        stored = (await run.stack.server_tasks(trial.repository))[trial.task_id]
        at = parse_rfc3339(stored["updated_at"])
        return at.timestamp() if at else time.time()

    async def skewed_writes() -> float:
        async with run.fault_slot(trial, own):
            edit = run.local("S", "edit", trial, content=skewed_value, skew_s=trial.skew_s)
            at = time.time()
            skewed.edit(trial.task_id, content=skewed_value)
            edit.ok()
        return at

    # The honest write counts from when the server stamped it: that is the time LWW uses.
    if trial.ordering == "skewed_first":
        skewed_at = await skewed_writes()
        await asyncio.sleep(trial.gap_s)
        honest_at = await honest_writes()
    else:
        honest_at = await honest_writes()
        await asyncio.sleep(trial.gap_s)
        skewed_at = await skewed_writes()
    report, _ = await run.sync(skewed, STRATEGY, trial, "S")
    await run.sync(honest, STRATEGY, trial, "H")
    winners = tuple(str(c.winner) for c in report.conflicts) if report else ()
    return TrialRecord(trial, honest_at, skewed_at, honest_value, skewed_value, winners)


__all__ = ["STRATEGY", "TrialRecord", "run_skew_trial"]
