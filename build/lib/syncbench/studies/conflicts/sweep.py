"""The clock-skew sweep under last_write_wins: which of two writes `gap_s` apart survives,
when one of them was stamped by a server whose clock was off.

An honest replica (side A) edits the task offline, stamping its change with its own (true)
clock. The other replica (side B) writes through the server while the server's real wall
clock is off by the trial's skew (the `clock` fault, libfaketime in the unmodified server),
so the server stamps that write `skew_s` off the truth. When the honest replica then syncs,
last_write_wins compares its stamp with the server's: a server clock behind makes the newer
server-side write look older, and the honest replica's older edit wins over it. The write
made later in real time is the newer one; the analysis compares it with what the server kept.

The server's clock is one for all: trials run concurrently, but one at a time makes its
two writes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from syncbench.studies.conflicts.phases import GROUP_A, GROUP_B, ConflictRun, OwnFault
from syncbench.studies.conflicts.workload import SkewTrial

STRATEGY = "last_write_wins"


@dataclass(frozen=True)
class TrialRecord:
    """When each write was made (true time: the honest one as its replica stamped it, the
    skewed one when the server applied it), the values written and the winners the honest
    replica's sync reported."""

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
    own = [OwnFault("clock", "server", {"offset_s": trial.skew_s})] if trial.skew_s else []

    async def honest_writes() -> float:
        edit = run.local("H", "edit", trial, content=honest_value)
        at = time.time()  # the honest replica's clock stamps its change: the truth
        honest.edit(trial.task_id, content=honest_value)
        edit.ok()
        return at

    async def skewed_writes() -> float:
        async with run.fault_slot(trial, own):
            edit = run.local("S", "edit", trial, content=skewed_value, skew_s=trial.skew_s)
            skewed.edit(trial.task_id, content=skewed_value)
            edit.ok()
            before = time.time()
            await run.sync(skewed, STRATEGY, trial, "S")  # stamped by the server's clock
            return (before + time.time()) / 2

    # The server's clock is one for every trial: one trial at a time writes, so that no
    # other trial's fault moves it, and no wait for one stretches the gap between the two.
    async with run.server_clock:
        if trial.ordering == "skewed_first":
            skewed_at = await skewed_writes()
            await asyncio.sleep(trial.gap_s)
            honest_at = await honest_writes()
        else:
            honest_at = await honest_writes()
            await asyncio.sleep(trial.gap_s)
            skewed_at = await skewed_writes()
    # last_write_wins decides here: the honest change's stamp against the server's
    report, _ = await run.sync(honest, STRATEGY, trial, "H")
    await run.sync(skewed, STRATEGY, trial, "S")
    winners = tuple(str(c.winner) for c in report.conflicts) if report else ()
    return TrialRecord(trial, honest_at, skewed_at, honest_value, skewed_value, winners)


__all__ = ["STRATEGY", "TrialRecord", "run_skew_trial"]
