"""Playing one generated contest (a spec from conflicts.generator) on the real stack.

A contest runs in its own repository ("g-<number>") with a real Replica per side: A through
side A's proxy, B through side B's (so B alone can be cut off), C through side A's. A
creates the base and everyone pulls it (unless it is a create contest); the steps run
inside the contest's fault slot (B `offline` for the whole stretch when the spec says so,
after one failed sync); then the contenders push, one after the other or all at once, and
the model (`expected_pushes`) says what the server should have done with what they sent.

Pushes made at once have no order the client chooses: the server serves them in some
order. As a linearizability checker does, the expectation is the model's outcome for a
serial order that explains what the server did (each contender's winners and the final
task); when no order does, the contenders' listed order is the expectation, and the
checks show the difference.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from syncbench.studies.conflicts.contest import Contest, SideTracker, model_inputs, resolve_manual
from syncbench.studies.conflicts.generator import EDITED, contest_kind, padded
from syncbench.studies.conflicts.model import BatchExpectation, ModelItem, expected_pushes
from syncbench.studies.conflicts.phases import GROUP_A, GROUP_B, ConflictRun, OwnFault
from syncbench.studies.conflicts.records import plain_record, short_text, task_fields
from syncbench.studies.conflicts.scenarios import CellRecord
from syncbench.studies.conflicts.workload import Cell
from tasksync.clock import parse_rfc3339
from tasksync.models import SyncTaskFields
from tasksync.replica import Replica

GROUPS: dict[str, str] = {"A": GROUP_A, "B": GROUP_B, "C": GROUP_A}


def contest_cell(spec: Mapping[str, Any]) -> Cell:
    """The unit a contest runs as: its repository, task and token; `scenario` says its kind."""
    return Cell(scenario=f"generated {contest_kind(spec)}", strategy=spec["strategy"],
                repository=f"g-{spec['contest']}", task_id=spec["task_id"],
                token=spec["token"])


async def run_contest(run: ConflictRun, spec: Mapping[str, Any]) -> CellRecord:
    """Play `spec`: base, steps, the contested pushes, a manual resolution, then settle."""
    cell = contest_cell(spec)
    contenders: list[str] = list(spec["contenders"])
    replicas = {side: run.replica(f"{cell.repository}.{side}", GROUPS[side], cell,
                                  cell.strategy, side) for side in ("A", *contenders)}
    base = await _base(run, cell, spec.get("base"), replicas)
    trackers = {side: SideTracker(run, cell, side, replica, base)
                for side, replica in replicas.items()}
    own = [OwnFault("offline", GROUP_B)] if spec["offline"] else []
    async with run.fault_slot(cell, own):
        if spec["offline"]:
            await run.sync(replicas["B"], cell.strategy, cell, "B", offline=True)  # fails
        for step in spec["steps"]:
            await _play_step(run, cell, trackers, step)

    contest, order = await _push_round(run, cell, spec, replicas, trackers)
    if cell.strategy == "manual" and contest.reported:
        await resolve_manual(run, cell, contest, run.params.manual_keep)
    # settle: the pushers first (a resolution to push), then A, then everyone pulls
    for side in (*contenders, "A", *contenders):
        await run.sync(replicas[side], cell.strategy, cell, side)
    return CellRecord(cell, contest, run.params.manual_keep, dict(spec), order)


async def _base(run: ConflictRun, cell: Cell, base: Mapping[str, Any] | None,
                replicas: Mapping[str, Replica]) -> SyncTaskFields | None:
    """A creates the base task and syncs, every other side pulls it; None for a create
    contest (no base: every side adds the task)."""
    if base is None:
        return None
    op = run.local("A", "add", cell, **base)
    replicas["A"].add(task_id=cell.task_id, **base)
    op.ok()
    await run.sync(replicas["A"], cell.strategy, cell, "A")
    for side, replica in replicas.items():
        if side != "A":
            await run.sync(replica, cell.strategy, cell, side)
    return task_fields(replicas["B"].get(cell.task_id))


async def _play_step(run: ConflictRun, cell: Cell, trackers: Mapping[str, SideTracker],
                     step: Mapping[str, Any]) -> None:
    tracker = trackers[step["side"]]
    if step["op"] in ("sync", "pull"):
        await tracker.sync()
        return
    fields = {name: step[name] for name in EDITED if name in step}
    if "content" in fields:
        fields["content"] = padded(fields["content"], step.get("pad"))
    recorded = {name: short_text(value) for name, value in fields.items()}
    moment = await _server_stamp(run, cell) if step.get("tie") else None
    if moment is not None:
        recorded["tie"] = True
    assert tracker.replica is not None
    with run.clocks.pinned(f"{cell.repository}.{step['side']}", moment):
        tracker.write(step["op"], recorded=recorded, **fields)


async def _server_stamp(run: ConflictRun, cell: Cell) -> datetime | None:
    """The server's updated_at of the contest's task now (None when it has none yet)."""
    task = (await run.stack.server_tasks(cell.repository)).get(cell.task_id)
    return parse_rfc3339(task["updated_at"]) if task else None


async def _push_round(run: ConflictRun, cell: Cell, spec: Mapping[str, Any],
                      replicas: Mapping[str, Replica], trackers: Mapping[str, SideTracker]
                      ) -> tuple[Contest, tuple[str, ...]]:
    """The contenders' pushes and what the model makes of them: the Contest and the order
    of the pushes that explains the server's outcome."""
    contenders: list[str] = list(spec["contenders"])
    pushes: list[tuple[str, list[ModelItem]]] = []
    server_fields: SyncTaskFields | None = None
    server_time: datetime | None = None
    for side in contenders:
        items, server_fields, server_time = await model_inputs(
            run, cell, replicas[side].pending_changes())
        pushes.append((side, items))
    server = (await run.stack.server_tasks(cell.repository)).get(cell.task_id)
    server_version = int(server["version"]) if server else 0
    push_time = datetime.now(UTC)

    async def push(side: str) -> tuple[list[dict[str, Any]], int]:
        report, op_id = await run.sync(replicas[side], cell.strategy, cell, side)
        return ([plain_record(c) for c in report.conflicts] if report else []), op_id

    if spec["push"] == "concurrent":
        done = await asyncio.gather(*(push(side) for side in contenders))
    else:
        done = [await push(side) for side in contenders]
    reported = {side: result[0] for side, result in zip(contenders, done, strict=True)}
    push_ops = {side: result[1] for side, result in zip(contenders, done, strict=True)}
    after = (await run.stack.server_tasks(cell.repository)).get(cell.task_id)

    orders = (list(itertools.permutations(contenders)) if spec["push"] == "concurrent"
              else [tuple(contenders)])
    order, expectations, final = _explaining_order(
        orders, cell.strategy, server_fields, server_time, server_version, pushes, push_time,
        task_fields(after), reported)
    # a contender that pulled after A's last step saw A's change: A's is not a rival change
    saw_a = _saw_all_of_a(spec)
    sides = [side for name, tracker in trackers.items()
             if not (name == "A" and saw_a)
             and (side := tracker.record(extra_ops=[push_ops[name]] if name in push_ops
                                         else [])) is not None]
    expectation = BatchExpectation(
        final, tuple(w for side in contenders for w in expectations[side].winners),
        any(e.wrote for e in expectations.values()))
    contest = Contest(
        sides=sides, items=[item for _, items in pushes for item in items],
        expectation=expectation,
        reported=[record for side in contenders for record in reported[side]],
        push_op_id=push_ops[contenders[0]], server_version=int((after or {}).get("version") or 0),
        resolve=replicas["B"],
    )
    return contest, order


def _explaining_order(
    orders: Sequence[tuple[str, ...]], strategy: str, server: SyncTaskFields | None,
    server_time: datetime | None, server_version: int, pushes: Sequence[tuple[str, list]],
    push_time: datetime, observed: SyncTaskFields | None,
    reported: Mapping[str, list[dict[str, Any]]],
) -> tuple[tuple[str, ...], dict[str, BatchExpectation], SyncTaskFields | None]:
    """The first order whose serial outcome is what the server did, else the first order."""
    by_side = dict(pushes)
    seen = {side: tuple(str(r.get("winner")) for r in records)
            for side, records in reported.items()}
    first: tuple[tuple[str, ...], dict[str, BatchExpectation], SyncTaskFields | None] | None \
        = None
    for order in orders:
        expectations, final = expected_pushes(strategy, server, server_time, server_version,
                                              [(side, by_side[side]) for side in order],
                                              push_time)
        if first is None:
            first = (order, expectations, final)
        if final == observed and all(expectations[side].winners == seen[side]
                                     for side in order):
            return order, expectations, final
    assert first is not None
    return first


def _saw_all_of_a(spec: Mapping[str, Any]) -> bool:
    steps = spec["steps"]
    last_a = max(i for i, step in enumerate(steps) if step["side"] == "A")
    return any(step["op"] == "pull" and i > last_a for i, step in enumerate(steps))


__all__ = ["GROUPS", "contest_cell", "run_contest"]
