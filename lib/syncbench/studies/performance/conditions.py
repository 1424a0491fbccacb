"""The network condition each phase is measured under, put on and taken off by the Nemesis.

The study has one phase per network profile (plus `direct`, the noop comparison without
toxics), all on one stack. A profile is not a fault that comes and goes on a clock here: it is
the condition a whole phase is measured under, and how long a phase lasts depends on the
machine. So the study's own schedule is played as one `network` fault over each phase
(`nemesis.fault("network", "load", profile=...)`): it goes on before the phase's first
request, off after its last, and `nemesis.played` records how long it lasted:

    {at: 0.0, for: 41.7, fault: network, target: load, profile: wan, phase: wan}

A replay (`params.schedule`, e.g. from `--replay`) plays that data instead, each phase's
windows timed from the phase's start: the phase waits until the windows that open it are on,
measures, then lets its windows play to their end, so kinds, order and durations are the
same. A replayed window that ends before the phase's measurements do leaves the rest measured
without it; the check `measured_under_profile` says so instead of passing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from syncbench.nemesis import FaultSchedule, Nemesis
from syncbench.studies.performance.params import LOAD

# Windows starting this early in a phase are what the phase opens with: it waits for them.
OPENING_S = 0.5
# Slack on top of a replayed phase's schedule length before waiting for it is an error.
REPLAY_SLACK_S = 30.0


@asynccontextmanager
async def measured_under(nemesis: Nemesis, phase: str, profile: str | None,
                         replay: FaultSchedule | None) -> AsyncIterator[None]:
    """The block runs as phase `phase` under `profile` on the load group's proxy (None: no
    toxics), or, when `replay` is given, under that schedule's windows for this phase."""
    nemesis.phase = phase
    nemesis.begin()
    if replay is not None:
        windows = replay.for_phase(phase)
        before = len(nemesis.played)
        async with nemesis.playing(windows) as task:
            opening = sum(1 for fault in windows if fault.at <= OPENING_S)
            await _opened(nemesis, phase, task, before + opening)
            yield
            remaining = windows.length - (asyncio.get_running_loop().time() - nemesis.origin)
            await nemesis.wait(task, max(0.0, remaining) + REPLAY_SLACK_S)
    elif profile is None:
        yield
    else:
        async with nemesis.fault("network", LOAD, profile=profile):
            yield


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


__all__ = ["OPENING_S", "measured_under"]
