"""The creation and sustained load's workers in the study's process, or spread over Ray
actors (`load_actors`): one `LoadGroup` per place, each running its share of a closed loop
(loadgen.run_closed_loop) with clients of its own and recording every operation in a
History of its own, which the fleet merges into the study's (times moved onto the study's
clock by each actor's measured offset, each operation's `group` recorded).

    fleet = await LoadFleet.start(actors=2)             # 0: one group in this process
    phase = await fleet.closed_loop(history, url, names, Load("create", ...), labels=...,
                                    deadline_s=60, server_pid=pid)
    await fleet.stop()

The phase's wall time is from its first operation's start to its last one's end (on the
study's clock); its client CPU is what every group's process used, its server CPU what the
server used meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from syncbench.distributed.fleet import Fleet
from syncbench.history import OK, History, OpHandle
from syncbench.machine import CpuMeter
from syncbench.studies.performance.loadgen import PhaseResult, run_closed_loop
from tasksync.client import HTTPClient, RetryPolicy

# Measurements see every failure: no retries hide one, and a retry would skew the timing
# (every client of the study, here and in phases.py).
NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class Load:
    """What the workers do: `noop`s, or `create`s of `tasks` ((id, content) pairs, one per
    operation) in `repository`; `seconds` > 0 makes it timed (no start after that long,
    `tasks` then only a bound)."""

    kind: str
    repository: str = ""
    tasks: Sequence[tuple[str, str]] = field(default_factory=tuple)
    total: int = 0
    seconds: float = 0.0

    def count(self) -> int:
        return len(self.tasks) if self.kind == "create" else self.total

    def share(self, start: int, stop: int) -> Load:
        """Operations start..stop of this load (a group's part)."""
        if self.kind == "create":
            return Load(self.kind, self.repository, list(self.tasks[start:stop]),
                        seconds=self.seconds)
        return Load(self.kind, total=stop - start, seconds=self.seconds)


class LoadGroup:
    def now(self) -> float:
        return time.time()

    async def closed_loop(self, url: str, names: Sequence[str], load: Load,
                          labels: dict[str, Any], deadline_s: float,
                          timeout_s: float) -> dict[str, Any]:
        """Workers `names` (a client each, connections opened first) share `load`; every
        operation (as rows) and this process's CPU seconds meanwhile."""
        history = History()
        clients = [HTTPClient(url, client_id=name, retry=NO_RETRY, timeout=timeout_s)
                   for name in names]
        tasks = list(load.tasks)

        async def create(client: HTTPClient, _worker: int, n: int, op: OpHandle) -> None:
            task_id, content = tasks[n]
            task = await client.create_task(load.repository, content, id=task_id)
            op.note(task_id=task.id, version=task.version)

        async def noop(client: HTTPClient, _worker: int, _n: int, _op: OpHandle) -> None:
            await client.noop()

        try:
            await asyncio.gather(*(client.noop() for client in clients))  # warm-up
            phase = await run_closed_loop(
                history, clients, load.count(), create if load.kind == "create" else noop,
                name=load.kind, labels=labels, deadline_s=deadline_s,
                stop_at=time.monotonic() + load.seconds if load.seconds > 0 else None)
        finally:
            await asyncio.gather(*(client.aclose() for client in clients))
        return {"operations": [op.to_dict() for op in history],
                "requested": phase.requested, "timed_out": phase.timed_out,
                "cpu_s": phase.client_cpu_s}


class LoadFleet(Fleet):
    group_class = LoadGroup

    async def closed_loop(self, history: History, url: str, names: Sequence[str],
                          load: Load, *, labels: dict[str, Any], deadline_s: float,
                          timeout_s: float, server_pid: int | None = None) -> PhaseResult:
        """`load` by workers `names`, dealt over the groups (each its share of the
        operations, by its share of the workers); every operation merged into `history`."""
        dealt = {group: mine for group, mine in self.deal(names).items() if mine}
        total, start, shares = load.count(), 0, {}
        for index, (group, mine) in enumerate(dealt.items()):  # in proportion to the workers
            stop = (total if index == len(dealt) - 1
                    else start + round(total * len(mine) / len(names)))
            shares[group] = load.share(start, stop)
            start = stop
        meter = CpuMeter(server_pid)
        meter.start()
        done = await asyncio.gather(*(
            self._call(group, "closed_loop", url, mine, shares[group], labels, deadline_s,
                       timeout_s) for group, mine in dealt.items()))
        _, server_cpu = meter.read()
        ops = []
        for group, part in zip(dealt, done, strict=True):
            ops += history.merge(part["operations"], offset_s=self.offsets[group].offset_s,
                                 group=group)
        ended = [op.complete_time for op in ops if op.complete_time is not None]
        elapsed = max(ended) - min(op.invoke_time for op in ops) if ended else 0.0
        requested = sum(part["requested"] for part in done)
        ok = sum(op.outcome == OK for op in ops)
        return PhaseResult(requested=requested, ok=ok, failed=requested - ok,
                           elapsed_s=elapsed, client_cpu_s=sum(p["cpu_s"] for p in done),
                           server_cpu_s=server_cpu,
                           timed_out=any(part["timed_out"] for part in done))


__all__ = ["Load", "LoadFleet", "LoadGroup", "NO_RETRY"]
