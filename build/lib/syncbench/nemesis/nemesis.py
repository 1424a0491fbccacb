"""The nemesis: one player of every fault, recording each start and stop in the History.

As in Jepsen, faults are a client of the history: the process `nemesis` invokes `start`
and `stop` operations, completed `ok` once the fault is fully on (or off). Fault windows for
charts and checks come from those operations only (`fault_windows`).

    nemesis = Nemesis(stack, history)
    async with nemesis.playing(schedule):        # timed windows, in the background
        await workload()
    async with nemesis.fault("offline", "replica-1"):   # or one fault around a block
        await replica.add("written offline")
    await nemesis.heal()                        # what is still on comes off, recorded

`played` is the schedule as it happened (kinds, order, targets, durations), which a replay
plays again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from syncbench.history import History
from syncbench.nemesis.kinds import fault_kind
from syncbench.nemesis.schedule import Fault, FaultSchedule, parse_schedule, parse_window

if TYPE_CHECKING:
    from syncbench.stack import Stack

PROCESS = "nemesis"


@dataclass
class ActiveFault:
    """A fault that is on: its plan, the kind's handle and its start operation."""

    fault_id: int
    plan: Fault
    handle: Any
    started_at: float  # loop time the fault was fully on
    played_index: int  # its entry in Nemesis.played
    imperative: bool = False  # started by start()/fault(): it lasts until stopped


async def _to_the_end(awaitable: Any) -> tuple[Any, bool]:
    """Await `awaitable` even if cancelled meanwhile: a fault that lands just after a cancel
    must still be known, or it cannot be taken off. Returns (result, cancelled)."""
    future = asyncio.ensure_future(awaitable)
    cancelled = False
    while True:
        try:
            return await asyncio.shield(future), cancelled
        except asyncio.CancelledError:
            cancelled = True


class Nemesis:
    """Plays faults against one Stack and records them in `history` as process `nemesis`.

    `phase` names the part of the study this nemesis serves (a schedule's windows with
    another phase are not played); `origin` (loop time) is when its schedule time 0 is,
    the moment it was made unless `begin()` moves it.
    """

    def __init__(self, stack: Stack, history: History, *, phase: str | None = None) -> None:
        self.stack = stack
        self.history = history
        self.phase = phase
        self.origin = asyncio.get_running_loop().time()
        self._active: dict[int, ActiveFault] = {}
        self._played: list[Fault] = []

    def begin(self) -> None:
        """Make now the schedule's time 0."""
        self.origin = asyncio.get_running_loop().time()

    @property
    def active(self) -> list[ActiveFault]:
        return list(self._active.values())

    @property
    def played(self) -> list[dict[str, Any]]:
        """The faults started so far as schedule data, in start order."""
        return [fault.to_dict() for fault in self._played]

    def _now(self) -> float:
        return asyncio.get_running_loop().time() - self.origin

    async def start(self, kind: str, target: str, *, duration: float | None = None,
                    at: float | None = None, **options: Any) -> ActiveFault:
        """Put a fault on now and record it; `duration`/`at` are the plan a schedule gave."""
        plan = parse_window({"at": max(0.0, self._now()) if at is None else at,
                             "for": duration or 1e-3, "fault": kind, "target": target,
                             **options, **({"phase": self.phase} if self.phase else {})})
        return await self._start(plan, imperative=duration is None)

    async def _start(self, plan: Fault, imperative: bool = False) -> ActiveFault:
        kind = fault_kind(plan.kind)
        op = self.history.invoke(PROCESS, "start", fault=plan.kind, target=plan.target,
                                 label=plan.label, phase=self.phase, **plan.options)
        # The start's own op id names the fault: unique in the history even when several
        # nemeses (one per phase or stack) record into it, so windows pair start and stop.
        fault_id = op.op_id
        op.op.args["fault_id"] = fault_id
        try:
            handle, cancelled = await _to_the_end(kind.start(self.stack, plan.target,
                                                             plan.options))
        except BaseException as exc:
            op.info(exc)  # half on is possible: the stack's teardown takes it off
            raise
        op.op.args.update(kind.evidence(handle))
        op.ok()
        active = ActiveFault(fault_id, plan, handle, asyncio.get_running_loop().time(),
                             len(self._played), imperative)
        self._active[fault_id] = active
        self._played.append(plan)
        if cancelled:  # the caller never gets `active`: take the fault off before going on
            await self.stop(active)
            raise asyncio.CancelledError
        return active

    async def stop(self, active: ActiveFault) -> None:
        """Take `active` off and record it (once; a second stop does nothing)."""
        if self._active.pop(active.fault_id, None) is None:
            return
        plan = active.plan
        op = self.history.invoke(PROCESS, "stop", fault_id=active.fault_id, fault=plan.kind,
                                 target=plan.target, label=plan.label, phase=self.phase)
        if active.imperative:  # its duration is what it lasted
            lasted = asyncio.get_running_loop().time() - active.started_at
            self._played[active.played_index] = Fault(
                plan.at, round(max(lasted, 1e-3), 3), plan.kind, plan.target, plan.options,
                plan.phase)
        kind = fault_kind(plan.kind)
        try:
            _, cancelled = await _to_the_end(kind.stop(self.stack, plan.target, active.handle))
        except BaseException as exc:
            op.info(exc)
            raise
        op.ok()
        if cancelled:
            raise asyncio.CancelledError

    @asynccontextmanager
    async def fault(self, kind: str, target: str, **options: Any) -> AsyncIterator[ActiveFault]:
        """A fault on for the duration of the block; off (recorded) however the block ends."""
        active = await self.start(kind, target, **options)
        try:
            yield active
        finally:
            await self.stop(active)

    async def play(self, schedule: FaultSchedule | list[Mapping[str, Any]],
                   in_turn: bool = False) -> None:
        """Play this phase's windows of `schedule`, timed from `origin`, to the end.

        Windows on different targets (or of different kinds) run concurrently, except on the
        server, whose faults play one after another; `in_turn` plays every window one after
        another, and a window that ends late (a slow restart) delays the rest by as much, so
        no two overlap and the planned gaps between them stay. Cancelling takes off what is on
        (recorded) before the cancel goes on.
        """
        faults = parse_schedule(schedule).for_phase(self.phase).faults
        lanes: dict[tuple[str, str], list[Fault]] = {}
        for fault in faults:
            if in_turn:
                lanes.setdefault(("", ""), []).append(fault)
                continue
            # Faults on a server play one after another whatever their kind: a crashed
            # server must be back before storage faults can be set on it, say; a window
            # whose time came while another was on starts when that one is off. Replicas
            # are servers of their own.
            lane = ("", fault.target) if fault_kind(fault.kind).target_kind == "server" else (
                fault.kind, fault.target)
            lanes.setdefault(lane, []).append(fault)
        try:
            async with asyncio.TaskGroup() as group:
                for lane in lanes.values():
                    group.create_task(self._play_lane(lane, keep_gaps=in_turn))
        except BaseExceptionGroup as failures:
            raise failures.exceptions[0] from failures

    async def _play_lane(self, faults: list[Fault], keep_gaps: bool = False) -> None:
        """Each fault at its time, or when the one before is off if that is later;
        `keep_gaps`: a late window delays the rest by as much, keeping the gaps between."""
        delay = 0.0
        for fault in faults:
            await self._sleep_until(fault.at + delay)
            began = self._now()  # late when the lane's last fault took long to come off
            active = await self._start(fault)
            try:
                await self._sleep_until(max(fault.end + delay, began + fault.duration))
            finally:
                await self.stop(active)
            if keep_gaps:
                delay = max(delay, self._now() - fault.end)

    async def _sleep_until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - self._now()))

    @asynccontextmanager
    async def playing(self, schedule: FaultSchedule | list[Mapping[str, Any]],
                      in_turn: bool = False) -> AsyncIterator[asyncio.Task[None]]:
        """Play `schedule` in the background during the block; on leaving it, what has not
        played is dropped and what is on is taken off. A fault that failed to go on or off
        is raised here."""
        task = asyncio.create_task(self.play(schedule, in_turn))
        try:
            yield task
        finally:
            if not task.done():
                task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise

    async def wait(self, task: asyncio.Task[None], timeout: float) -> None:
        """Wait for a background `playing` task to play to its end; TimeoutError after."""
        async with asyncio.timeout(timeout):
            await asyncio.shield(task)

    async def heal(self) -> int:
        """Take every fault still on off (recorded); returns how many there were."""
        active = list(self._active.values())
        for fault in reversed(active):
            await self.stop(fault)
        return len(active)


__all__ = ["PROCESS", "ActiveFault", "Nemesis"]
