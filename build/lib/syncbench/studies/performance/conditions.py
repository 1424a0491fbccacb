"""The network condition each phase is measured under, put on and taken off by the Nemesis.

The study has one phase per network profile (plus `direct`, the noop comparison without
toxics), all on one stack. A profile is not a fault that comes and goes on a clock here: it is
the condition a whole phase is measured under, and how long a phase lasts depends on the
machine. So the study's own schedule is one `network` fault over each phase: it goes on
before the phase's first request and off after its last, and `nemesis.played` records how
long it lasted:

    {at: 0.0, for: 41.7, fault: network, target: load, profile: wan, phase: wan}

A replay (`params.schedule`, e.g. from `--replay`) plays that data instead, each phase's
windows timed from the phase's start. The window that opens a phase with the phase's own
profile on the load proxy is the phase's condition: it is held for its planned duration and,
should the phase's measurements take longer on this run, until they end (the note says so),
so the figures of a profile are always measured under it. Every other window plays on its
clock; the phase waits for those that open it before measuring, and for all of them to end
before it ends. Kinds, order and targets are the same; durations too, unless a note says
which condition was held longer. The check `measured_under_profile` proves the outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from syncbench.nemesis import Fault, FaultSchedule, Nemesis
from syncbench.studies.performance.params import LOAD

# Windows starting this early in a phase are what the phase opens with: it waits for them.
OPENING_S = 0.5
# Slack on top of a replayed phase's schedule length before waiting for it is an error.
REPLAY_SLACK_S = 30.0


def phase_condition(windows: FaultSchedule, profile: str | None) -> Fault | None:
    """The window of `windows` that is the phase's own condition: `profile` on the load
    proxy from the phase's start. None when there is none (or no profile)."""
    if profile is None:
        return None
    return next((fault for fault in windows if fault.kind == "network" and fault.target == LOAD
                 and fault.options.get("profile") == profile and fault.at <= OPENING_S), None)


@asynccontextmanager
async def measured_under(nemesis: Nemesis, phase: str, profile: str | None,
                         replay: FaultSchedule | None,
                         notes: list[str] | None = None) -> AsyncIterator[None]:
    """The block runs as phase `phase` under `profile` on the load group's proxy (None: no
    toxics), or, when `replay` is given, under that schedule's windows for this phase.
    What a replay could not keep the same goes to `notes`."""
    nemesis.phase = phase
    nemesis.begin()
    if replay is None:
        if profile is None:
            yield
        else:
            async with nemesis.fault("network", LOAD, profile=profile):
                yield
        return
    windows = replay.for_phase(phase)
    condition = phase_condition(windows, profile)
    others = FaultSchedule(tuple(fault for fault in windows if fault is not condition))
    held = None
    if condition is not None:
        await _sleep_until(nemesis, condition.at)
        held = await nemesis.start("network", LOAD, **condition.options)
    try:
        before = len(nemesis.played)
        async with nemesis.playing(others) as task:
            opening = sum(1 for fault in others if fault.at <= OPENING_S)
            await _opened(nemesis, phase, task, before + opening)
            yield
            await nemesis.wait(task, max(0.0, others.length - _now(nemesis)) + REPLAY_SLACK_S)
        if condition is not None:
            over = _now(nemesis) - condition.end
            if over > 0 and notes is not None:
                notes.append(f"phase {phase}: the replayed {profile} window ({condition.duration:g}"
                             f" s) was held {over:.1f} s longer, until the phase's measurements "
                             "ended")
            await _sleep_until(nemesis, condition.end)
    finally:
        if held is not None:
            await nemesis.stop(held)


def _now(nemesis: Nemesis) -> float:
    return asyncio.get_running_loop().time() - nemesis.origin


async def _sleep_until(nemesis: Nemesis, at: float) -> None:
    await asyncio.sleep(max(0.0, at - _now(nemesis)))  # a schedule's clock, not a wait for state


async def _opened(nemesis: Nemesis, phase: str, task: asyncio.Task[None], played: int,
                  timeout: float = REPLAY_SLACK_S) -> None:
    """Wait until `played` faults have been put on, i.e. the windows that open `phase`
    (polling, with a deadline); a fault that failed to go on is raised here."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + OPENING_S + timeout
    while len(nemesis.played) < played:
        if task.done():
            await task  # raises what stopped the schedule
            return
        if loop.time() > deadline:
            raise TimeoutError(f"phase {phase}: the replayed schedule's opening windows were "
                               f"not on within {OPENING_S + timeout:g} s")
        await asyncio.sleep(0.005)


__all__ = ["OPENING_S", "measured_under", "phase_condition"]
