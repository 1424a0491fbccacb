"""The nine conflict scenarios, each one cell's script, and `run_cell` that plays one cell.

Every scenario sets up two replicas on a shared base (A on side A's proxy, B on side B's),
lets them write past each other inside the cell's fault slot (phases.ConflictRun.fault_slot),
then has B (or, in the original plan's case, a third batch client C) push the contested
change. Faults: long_offline_edit cuts B off (`offline` on side B's group) while both edit;
the clock_skew_* scenarios run B's clock `skew_minutes` ahead or behind (`clock` on B) while
B writes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syncbench.studies.conflicts.contest import (
    Contest,
    PendingItem,
    SideTracker,
    model_inputs,
    push,
    resolve_manual,
    setup,
)
from syncbench.studies.conflicts.model import expected_batch
from syncbench.studies.conflicts.phases import (
    GROUP_A,
    GROUP_B,
    STUDY_RETRY,
    ConflictRun,
    OwnFault,
)
from syncbench.studies.conflicts.records import Side, plain_record
from syncbench.studies.conflicts.workload import Cell
from tasksync.clock import format_rfc3339
from tasksync.models import SyncItem, SyncTaskFields
from tasksync.replica import Replica

# B's edits while offline cycle through these statuses and priorities.
_OFFLINE_STATUSES = ("in_progress", "completed", "cancelled", "pending")
_OFFLINE_PRIORITIES = ("high", "low")
_SKEW_SIGN = {"clock_skew_ahead": 1.0, "clock_skew_behind": -1.0}

Write = tuple[str, dict[str, Any]]
Scenario = Callable[[ConflictRun, Cell, Replica, Replica], Awaitable[Contest]]


@dataclass
class CellRecord:
    """What one cell left for the analysis: the cell, its contest, and the manual choice;
    for a generated contest also its spec and the order its pushes were served in."""

    cell: Cell
    contest: Contest
    manual_keep: str
    spec: dict[str, Any] | None = None
    push_order: tuple[str, ...] = ()


async def run_cell(run: ConflictRun, cell: Cell) -> CellRecord:
    """Play `cell`'s scenario, resolve a manual conflict, and settle (B, A, B sync)."""
    a = run.replica(f"{cell.repository}.A", GROUP_A, cell, cell.strategy, "A")
    b = run.replica(f"{cell.repository}.B", GROUP_B, cell, cell.strategy, "B")
    contest = await SCENARIO_SCRIPTS[cell.scenario](run, cell, a, b)
    keep = run.params.manual_keep
    if cell.strategy == "manual" and contest.reported:
        await resolve_manual(run, cell, contest, keep)
    # settle: the pusher first (a resolution to push), then everyone pulls
    for replica, label in ((b, "B"), (a, "A"), (b, "B")):
        await run.sync(replica, cell.strategy, cell, label)
    return CellRecord(cell, contest, keep)


def _trackers(run: ConflictRun, cell: Cell, a: Replica, b: Replica,
              base: SyncTaskFields | None) -> tuple[SideTracker, SideTracker]:
    return SideTracker(run, cell, "A", a, base), SideTracker(run, cell, "B", b, base)


async def _trackers_on_base(run: ConflictRun, cell: Cell, a: Replica, b: Replica
                            ) -> tuple[SideTracker, SideTracker]:
    """A's and B's trackers once both replicas stand on the cell's shared base task."""
    return _trackers(run, cell, a, b, await setup(run, cell, a, b))


async def _a_syncs_then_b_pushes(run: ConflictRun, cell: Cell, a: Replica, b: Replica,
                                 a_write: Write, b_write: Write) -> Contest:
    """The common contest: A writes and syncs, then B (still on the base) writes and pushes."""
    side_a, side_b = await _trackers_on_base(run, cell, a, b)
    async with run.fault_slot(cell):
        side_a.write(a_write[0], **a_write[1])
        await side_a.sync()
        side_b.write(b_write[0], **b_write[1])
    return await push(run, cell, b, [side_a, side_b])


async def edit_edit_same_field(run: ConflictRun, cell: Cell, a: Replica, b: Replica) -> Contest:
    return await _a_syncs_then_b_pushes(run, cell, a, b, ("edit", {"content": f"A {cell.token}"}),
                                        ("edit", {"content": f"B {cell.token}"}))


async def edit_edit_different_fields(run: ConflictRun, cell: Cell, a: Replica, b: Replica
                                     ) -> Contest:
    return await _a_syncs_then_b_pushes(run, cell, a, b, ("edit", {"content": f"A {cell.token}"}),
                                        ("edit", {"priority": "high"}))


async def edit_delete(run: ConflictRun, cell: Cell, a: Replica, b: Replica) -> Contest:
    return await _a_syncs_then_b_pushes(run, cell, a, b, ("edit", {"content": f"A {cell.token}"}),
                                        ("rm", {}))


async def delete_delete(run: ConflictRun, cell: Cell, a: Replica, b: Replica) -> Contest:
    return await _a_syncs_then_b_pushes(run, cell, a, b, ("rm", {}), ("rm", {}))


async def concurrent_create(run: ConflictRun, cell: Cell, a: Replica, b: Replica) -> Contest:
    # Both create the same id offline; A's create reaches the server first.
    side_a, side_b = _trackers(run, cell, a, b, None)
    async with run.fault_slot(cell):
        side_a.write("add", content=f"A {cell.token}")
        side_b.write("add", content=f"B {cell.token}")
        await side_a.sync()
    return await push(run, cell, b, [side_a, side_b])


async def long_offline_edit(run: ConflictRun, cell: Cell, a: Replica, b: Replica) -> Contest:
    # B goes offline and keeps editing status and priority while A edits and syncs the content
    # again and again; B's whole outbox (all based on the version it left with) then meets A's.
    side_a, side_b = await _trackers_on_base(run, cell, a, b)
    async with run.fault_slot(cell, [OwnFault("offline", GROUP_B)]):
        await run.sync(b, cell.strategy, cell, "B", offline=True)  # fails: B is cut off
        for k in range(run.params.offline_edits):
            side_b.write("edit", status=_OFFLINE_STATUSES[k % len(_OFFLINE_STATUSES)],
                         priority=_OFFLINE_PRIORITIES[k % len(_OFFLINE_PRIORITIES)])
            side_a.write("edit", content=f"A{k + 1} {cell.token}")
            await side_a.sync()
    return await push(run, cell, b, [side_a, side_b])


def _skew(run: ConflictRun, cell: Cell, b: Replica) -> list[OwnFault]:
    skew_s = _SKEW_SIGN[cell.scenario] * run.params.skew_minutes * 60.0
    return [OwnFault("client_clock", b.client_id, {"skew_s": skew_s})]


async def clock_skew_ahead(run: ConflictRun, cell: Cell, a: Replica, b: Replica) -> Contest:
    # B's clock runs ahead: its older edit carries a later time than A's newer one.
    side_a, side_b = await _trackers_on_base(run, cell, a, b)
    async with run.fault_slot(cell, _skew(run, cell, b)):
        side_b.write("edit", content=f"B {cell.token}")
    await asyncio.sleep(0.01)  # make "later in real time" unambiguous
    side_a.write("edit", content=f"A {cell.token}")
    await side_a.sync()
    return await push(run, cell, b, [side_a, side_b])


async def clock_skew_behind(run: ConflictRun, cell: Cell, a: Replica, b: Replica) -> Contest:
    # B's clock runs behind: its newer edit carries an earlier time than A's older one.
    side_a, side_b = await _trackers_on_base(run, cell, a, b)
    side_a.write("edit", content=f"A {cell.token}")
    await side_a.sync()
    async with run.fault_slot(cell, _skew(run, cell, b)):
        side_b.write("edit", content=f"B {cell.token}")
    return await push(run, cell, b, [side_a, side_b])


async def plan_two_updates_then_batch(run: ConflictRun, cell: Cell, a: Replica, b: Replica
                                      ) -> Contest:
    # The original plan's case: A and then B update the task (B on top of A's version), then
    # a third client's batch sync based on version 1 pushes a third content: one conflict.
    base = await setup(run, cell, a, b)
    side_b = SideTracker(run, cell, "B", b, base)
    async with run.fault_slot(cell):
        op = run.local("A", "edit", cell, content=f"two {cell.token}")
        a.edit(cell.task_id, content=f"two {cell.token}")
        op.ok()
        await run.sync(a, cell.strategy, cell, "A")
        await run.sync(b, cell.strategy, cell, "B")  # B now stands on A's version
        side_b.write("edit", content=f"B {cell.token}")
        await side_b.sync()

    client = run.stack.batch_client(GROUP_A, client_id=f"{cell.repository}.C", retry=STUDY_RETRY,
                                    observer=run.history.observe_attempt)
    wrote_at = time.time()
    item = SyncItem(change_id=f"{cell.repository}.C:1", task_id=cell.task_id,
                    task=SyncTaskFields(content=f"third {cell.token}"), base_version=1,
                    updated_at=format_rfc3339(datetime.now(UTC)))
    items, server_fields, server_time = await model_inputs(run, cell, [PendingItem.of(item)])
    push_time = datetime.now(UTC)
    reported: list[dict[str, Any]] = []
    async with run.history.record("C", "batch_sync", repository=cell.repository,
                                  task_id=cell.task_id, strategy=cell.strategy,
                                  content=item.task.content, base_version=1) as op:
        response = await client.batch_sync(cell.repository, [item], 0, cell.strategy)
        reported = [plain_record(c) for c in response.conflicts]
        op.note(seq=response.cursor)
    run.reported += reported
    server = (await run.stack.server_tasks(cell.repository)).get(cell.task_id) or {}
    side_c = Side(cell.scenario, cell.strategy, cell.repository, cell.task_id, "C",
                  client.client_id, {"content": item.task.content}, [op.op_id], wrote_at)
    return Contest(
        sides=[s for s in (side_b.record(), side_c) if s is not None], items=items,
        expectation=expected_batch(cell.strategy, server_fields, server_time, items, push_time),
        reported=reported, push_op_id=op.op_id, server_version=int(server.get("version") or 0),
        resolve=(client, item),
    )


SCENARIO_SCRIPTS: dict[str, Scenario] = {
    "edit_edit_same_field": edit_edit_same_field,
    "edit_edit_different_fields": edit_edit_different_fields,
    "edit_delete": edit_delete,
    "delete_delete": delete_delete,
    "concurrent_create_same_id": concurrent_create,
    "long_offline_edit": long_offline_edit,
    "clock_skew_ahead": clock_skew_ahead,
    "clock_skew_behind": clock_skew_behind,
    "plan_two_updates_then_batch": plan_two_updates_then_batch,
}

__all__ = ["SCENARIO_SCRIPTS", "CellRecord", "run_cell"]
