"""Driving the stack for one run: replicas, recorded syncs, each cell's fault slot, the end.

`ConflictRun` holds what every cell and trial shares: the Stack, the History, the client
clocks, one Nemesis per cell (its phase is the cell's repository), and what was collected.

Faults. Each cell and trial has one *fault slot*, the stretch of its scenario where a fault
means something (B offline while both sides edit; B's clock skewed while it writes). Without
a `schedule` parameter the slot puts on the cell's own faults (`offline` on side B's group,
`clock` on B's client) for exactly the stretch, recorded as windows at 0 s of the cell's
phase. With one, the slot plays that schedule's windows for the cell's phase instead, timed
from the slot's start: windows at 0 s are on before the stretch begins, and the stretch
waits for the phase's windows to end before the contested push. A replayed run therefore
plays the same kinds, in the same order, on the same targets, for the same durations.

The run ends heal -> quiesce (every replica's outbox pushed, with a deadline) -> final reads
(server tasks, conflict logs, replica tasks), which the analysis works from.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from syncbench.history import EXPECTED_ERRORS, History, OpHandle
from syncbench.nemesis import ActiveFault, FaultSchedule, Nemesis, parse_schedule
from syncbench.stack import Stack
from syncbench.studies.conflicts.clock import client_clocks
from syncbench.studies.conflicts.params import ConflictParams
from syncbench.studies.conflicts.records import plain_record
from syncbench.studies.conflicts.workload import Cell, SkewTrial
from tasksync.client import RetryPolicy
from tasksync.replica import Replica, ReplicaError, SyncReport

# Client groups: each side's traffic goes through its own Toxiproxy proxy, so side B alone
# can be taken offline.
GROUP_A, GROUP_B = "side-a", "side-b"
# Clean network: a sync that fails is a finding, so retry briefly and report it.
STUDY_RETRY = RetryPolicy(max_attempts=2, base_delay=0.05, max_delay=0.5, deadline=10.0)
CELL_TIMEOUT_S = 60.0
QUIESCE_S = 30.0
# How long past a given schedule's last window a slot waits for its faults to come off.
FAULT_OFF_S = 10.0

TaskKey = tuple[str, str]  # (repository, task_id)
Unit = Cell | SkewTrial


@dataclass(frozen=True)
class OwnFault:
    """A fault a scenario puts on for its slot: kind, target, options."""

    kind: str
    target: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class FinalState:
    """The final reads after heal and quiesce, keyed by (repository, task_id)."""

    server: dict[TaskKey, dict[str, Any]] = field(default_factory=dict)
    holders: dict[str, dict[TaskKey, Any]] = field(default_factory=dict)  # "A"/"B" -> tasks
    conflict_log: list[dict[str, Any]] = field(default_factory=list)
    unquiesced: list[str] = field(default_factory=list)  # replicas left with an outbox

    scope: dict[str, set[str]] = field(default_factory=dict)  # holder -> its repositories

    def partial_holders(self) -> list[str]:
        """Holders with a replica in only some units' repositories (C of generated contests)."""
        every = set().union(*self.scope.values()) if self.scope else set()
        return [holder for holder, held in self.scope.items() if held != every]

    def states(self) -> dict[str, dict[TaskKey, Any]]:
        """The server's and every whole holder's tasks, the server first (what
        `convergence` compares); partial holders are compared with `states_of`."""
        partial = self.partial_holders()
        return {"server": dict(self.server),
                **{h: tasks for h, tasks in self.holders.items() if h not in partial}}

    def states_of(self, holder: str) -> dict[str, dict[TaskKey, Any]]:
        """The server's tasks in `holder`'s repositories and `holder`'s tasks."""
        held = self.scope.get(holder, set())
        return {"server": {key: task for key, task in self.server.items() if key[0] in held},
                holder: dict(self.holders.get(holder, {}))}


async def _stop_at_end(nemesis: Nemesis, active: ActiveFault) -> None:
    """Take `active` off when its planned window ends (schedule time from nemesis.origin)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, nemesis.origin + active.plan.end - loop.time()))
    await nemesis.stop(active)


@dataclass
class _Held:
    holder: str  # the convergence holder it reports as: "A" or "B"
    strategy: str
    unit: Unit
    replica: Replica


class ConflictRun:
    """The run's shared state: the stack, the history, the nemeses and what was collected."""

    def __init__(self, stack: Stack, params: ConflictParams) -> None:
        self.stack = stack
        self.params = params
        # replica errors say themselves whether a change certainly did not apply
        self.history = History(expected_errors=EXPECTED_ERRORS + (ReplicaError,))
        self.given: FaultSchedule | None = (parse_schedule(params.schedule)
                                            if params.schedule else None)
        # the server's wall clock is one for all units: one at a time moves it (the sweep)
        self.server_clock = asyncio.Lock()
        self.clocks = client_clocks(stack)
        self.nemeses: list[Nemesis] = []
        self.reported: list[dict[str, Any]] = []  # every conflict a sync response carried
        self._held: list[_Held] = []
        self._unsynced: set[int] = set()  # replicas (by id) whose last sync did not finish

    @property
    def played(self) -> list[dict[str, Any]]:
        """Every fault played, all phases, in the order the cells ran."""
        return [window for nemesis in self.nemeses for window in nemesis.played]

    # -- clients ---------------------------------------------------------------------------

    def replica(self, name: str, group: str, unit: Unit, strategy: str, holder: str) -> Replica:
        """A Replica of `unit`'s repository through `group`, its clock the `clock` fault's."""
        replica = self.stack.replica(
            name, group, unit.repository, clock=self.clocks.clock(name),
            client_options={"retry": STUDY_RETRY, "observer": self.history.observe_attempt},
        )
        self._held.append(_Held(holder, strategy, unit, replica))
        return replica

    def local(self, client: str, operation: str, unit: Unit, **args: Any) -> OpHandle:
        """Record a local (offline) replica operation, which completes at once."""
        return self.history.invoke(client, operation, repository=unit.repository,
                                   task_id=unit.task_id, **args)

    async def sync(self, replica: Replica, strategy: str, unit: Unit, label: str,
                   **args: Any) -> tuple[SyncReport | None, int]:
        """Sync `replica`, recorded; the report (None when the sync failed) and the op id."""
        report: SyncReport | None = None
        self._unsynced.add(id(replica))  # until this sync is seen to finish
        async with self.history.record(label, "sync", repository=unit.repository,
                                       task_id=unit.task_id, strategy=strategy,
                                       pending=replica.pending_count(), **args) as op:
            report = await replica.sync(strategy)
            op.note(seq=report.cursor)
            self.reported += [plain_record(c) for c in report.conflicts]
            self._unsynced.discard(id(replica))
        return report, op.op_id

    # -- faults ----------------------------------------------------------------------------

    @asynccontextmanager
    async def fault_slot(self, unit: Unit, own: Sequence[OwnFault] = ()) -> AsyncIterator[Nemesis]:
        """The unit's faults for the block: its own, or the given schedule's for its phase."""
        nemesis = Nemesis(self.stack, self.history, phase=unit.phase)
        self.nemeses.append(nemesis)
        if self.given is None:
            started = []
            try:
                for fault in own:
                    started.append(await nemesis.start(fault.kind, fault.target, at=0.0,
                                                       **fault.options))
                yield nemesis
            finally:
                for active in reversed(started):
                    await nemesis.stop(active)
            return
        windows = self.given.for_phase(unit.phase)
        # Windows at 0 s go on before the block starts (so its first step meets them) and
        # come off after their duration, but not before the block ends: in the run that
        # recorded them they were the block's own faults, on for all of it (a server clock
        # must still be off when the block's sync is stamped, however slow that sync is
        # now); later ones play as scheduled.
        on = [await nemesis.start(w.kind, w.target, duration=w.duration, at=0.0,
                                  **dict(w.options)) for w in windows if w.at == 0]
        later = [w for w in windows if w.at > 0]
        async with nemesis.playing(later) as task:
            stops: list[asyncio.Task[None]] = []
            try:
                yield nemesis
                stops = [asyncio.create_task(_stop_at_end(nemesis, active)) for active in on]
                await nemesis.wait(task, timeout=windows.length + FAULT_OFF_S)
                async with asyncio.timeout(windows.length + FAULT_OFF_S):
                    await asyncio.gather(*stops)
            finally:
                for stop in stops:
                    stop.cancel()
                for active in on:
                    await nemesis.stop(active)

    async def heal(self) -> int:
        """Take off whatever fault is still on, in every phase; how many there were."""
        return sum([await nemesis.heal() for nemesis in self.nemeses])

    # -- the end ---------------------------------------------------------------------------

    async def quiesce(self, deadline_s: float = QUIESCE_S) -> list[str]:
        """Sync every replica whose outbox holds changes, or whose last sync did not finish
        (it may have pulled nothing: on a loaded machine a contest's closing sync can time
        out), until each is done or the deadline passes; the names of replicas not done."""
        loop = asyncio.get_running_loop()
        until = loop.time() + deadline_s

        def undone(held: Any) -> bool:
            return bool(held.replica.pending_count()) or id(held.replica) in self._unsynced

        waiting = [held for held in self._held if undone(held)]
        while waiting and loop.time() < until:
            for held in waiting:
                await self.sync(held.replica, held.strategy, held.unit, held.holder,
                                quiesce=True)
            waiting = [held for held in waiting if undone(held)]
        return [held.replica.client_id for held in waiting]

    async def final_reads(self, units: Sequence[Unit]) -> FinalState:
        """The server's tasks and conflict log of every unit's repository, and every
        replica's tasks, keyed by (repository, task_id)."""
        final = FinalState()
        for unit in units:
            tasks = await self.stack.server_tasks(unit.repository)
            final.server.update({(unit.repository, task_id): task
                                 for task_id, task in tasks.items()})
            final.conflict_log += await self.stack.conflict_log(unit.repository)
        for held in self._held:
            final.scope.setdefault(held.holder, set()).add(held.unit.repository)
            tasks = final.holders.setdefault(held.holder, {})
            tasks.update({(held.unit.repository, task_id): task
                          for task_id, task in held.replica.tasks().items()})
        return final


__all__ = ["CELL_TIMEOUT_S", "GROUP_A", "GROUP_B", "STUDY_RETRY", "ConflictRun", "FinalState",
           "OwnFault", "TaskKey"]
