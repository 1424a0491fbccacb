"""The parts every scenario is made of: the shared base, each side's tracked writes, B's
contested push with the model's expectation of it, and a manual conflict's resolution."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from syncbench.studies.conflicts.model import (
    EDIT_FIELDS,
    BatchExpectation,
    ModelItem,
    expected_batch,
)
from syncbench.studies.conflicts.phases import ConflictRun
from syncbench.studies.conflicts.records import Side, plain_record, task_fields
from syncbench.studies.conflicts.workload import Cell
from tasksync.clock import parse_rfc3339
from tasksync.models import SyncItem, SyncTaskFields
from tasksync.replica import Replica, TaskNotFound

SETUP_S = 60.0  # how long the cell's setup syncs until both sides hold the base


@dataclass
class Contest:
    """What a scenario hands back: the sides, what was pushed, and what came of it."""

    sides: list[Side]
    items: list[ModelItem]
    expectation: BatchExpectation
    reported: list[dict[str, Any]]
    push_op_id: int
    server_version: int  # the server's version after the push (for a manual resolution)
    resolve: Any = None  # how to resolve a manual conflict: a Replica or (client, item)


class SideTracker:
    """Collects one side's local writes: its ops and its net change against the base."""

    def __init__(self, run: ConflictRun, cell: Cell, side: str, replica: Replica | None,
                 base: SyncTaskFields | None) -> None:
        self.run, self.cell, self.side, self.replica, self.base = run, cell, side, replica, base
        self.op_ids: list[int] = []
        self.after: SyncTaskFields | None = None
        self.last_time = 0.0

    def write(self, operation: str, *, recorded: Mapping[str, Any] | None = None,
              **fields: Any) -> None:
        """One local write ("add", "edit" or "rm") of `fields`, recorded in the History with
        `recorded` in place of the fields when given (a long content shortened)."""
        replica = self.replica
        assert replica is not None
        op = self.run.local(self.side, operation, self.cell,
                            **(fields if recorded is None else recorded))
        self.last_time = time.time()
        task_id = self.cell.task_id
        if operation == "add":
            task = replica.add(task_id=task_id, **fields)
        elif operation == "rm":
            task = replica.rm(task_id)
        else:
            task = replica.edit(task_id, **fields)
        op.ok(version=task.version)
        self.op_ids.append(op.op_id)
        self.after = task_fields(task)

    async def sync(self) -> None:
        """Sync this side's replica; the sync counts among the side's operations."""
        assert self.replica is not None
        _, op_id = await self.run.sync(self.replica, self.cell.strategy, self.cell, self.side)
        self.op_ids.append(op_id)

    def record(self, extra_ops: Sequence[int] = ()) -> Side | None:
        """The side's net change against the base, None when it changed nothing."""
        if self.after is None:
            return None
        changed = {
            name: getattr(self.after, name) for name in EDIT_FIELDS
            if self.base is None or getattr(self.after, name) != getattr(self.base, name)
        }
        if not changed:
            return None
        return Side(self.cell.scenario, self.cell.strategy, self.cell.repository,
                    self.cell.task_id, self.side, self.replica.client_id if self.replica else "",
                    changed, self.op_ids + list(extra_ops), self.last_time)


async def setup(run: ConflictRun, cell: Cell, a: Replica, b: Replica) -> SyncTaskFields:
    """A creates the task and syncs; B pulls it. Returns the shared base fields."""
    op = run.local("A", "add", cell, content=f"base {cell.token}")
    a.add(f"base {cell.token}", task_id=cell.task_id)
    op.ok()
    # the base must be shared before the contest starts: a sync a loaded machine timed out
    # is synced again (recorded like any other), for at most SETUP_S
    deadline = time.monotonic() + SETUP_S
    while True:
        await run.sync(a, cell.strategy, cell, "A")
        if not a.pending_count() or time.monotonic() > deadline:
            break
    while True:
        await run.sync(b, cell.strategy, cell, "B")
        if _holds(b, cell.task_id) or time.monotonic() > deadline:
            break
    if not _holds(b, cell.task_id):
        raise RuntimeError(f"{cell.repository}: B never received the base task "
                           f"{cell.task_id} in {SETUP_S:g} s of syncs; is the server up?")
    base = task_fields(b.get(cell.task_id))
    assert base is not None
    return base


def _holds(replica: Replica, task_id: str) -> bool:
    try:
        replica.get(task_id)
    except TaskNotFound:
        return False
    return True


async def push(run: ConflictRun, cell: Cell, b: Replica, sides: list[SideTracker],
               push_label: str = "B") -> Contest:
    """B's contested sync: model what it should do from B's outbox, then sync it."""
    items, server_fields, server_time = await model_inputs(run, cell, b.pending_changes())
    push_time = datetime.now(UTC)
    report, op_id = await run.sync(b, cell.strategy, cell, push_label)
    reported = [plain_record(c) for c in report.conflicts] if report else []
    server = (await run.stack.server_tasks(cell.repository)).get(cell.task_id) or {}
    recorded = [side for tracker in sides
                if (side := tracker.record(extra_ops=[op_id] if tracker.side == push_label
                                           else [])) is not None]
    return Contest(
        sides=recorded, items=items,
        expectation=expected_batch(cell.strategy, server_fields, server_time, items, push_time),
        reported=reported, push_op_id=op_id, server_version=int(server.get("version") or 0),
        resolve=b,
    )


async def model_inputs(run: ConflictRun, cell: Cell, pending: Sequence[Any]
                       ) -> tuple[list[ModelItem], SyncTaskFields | None, datetime | None]:
    """The model's view right before a push: the items and the server task they meet."""
    server = (await run.stack.server_tasks(cell.repository)).get(cell.task_id)
    snapshots: dict[tuple[str, int], SyncTaskFields | None] | None = None
    items = []
    for change in pending:
        base = change.base
        if base is None and change.base_version > 0:
            # The server merges against its log's snapshot when the item carries no base.
            if snapshots is None:
                snapshots = {(event["task_id"], event["version"]): task_fields(event["task"])
                             for event in await run.stack.change_log(cell.repository)}
            base = snapshots.get((change.task_id, change.base_version))
        items.append(ModelItem(change.task, base, parse_rfc3339(change.updated_at),
                               change.base_version))
    server_time = parse_rfc3339(server["updated_at"]) if server else None
    return items, task_fields(server), server_time


@dataclass(frozen=True)
class PendingItem:
    """A batch client's change as the model reads a replica's outbox row."""

    task_id: str
    task: SyncTaskFields
    base_version: int
    base: SyncTaskFields | None
    updated_at: str

    @classmethod
    def of(cls, item: SyncItem) -> PendingItem:
        return cls(item.task_id, item.task, item.base_version, item.base, item.updated_at)


async def resolve_manual(run: ConflictRun, cell: Cell, contest: Contest, keep: str) -> None:
    """Close a manual conflict the way a user would: replica.resolve, or push again on top."""
    if isinstance(contest.resolve, Replica):
        replica = contest.resolve
        op = run.local("B", "resolve", cell, keep=keep)
        replica.resolve(cell.task_id, keep)
        op.ok()
        return
    client, item = contest.resolve
    if keep == "server":
        return  # a batch client holds nothing locally: keeping the server's side is a no-op
    again = msgspec.structs.replace(item, change_id=f"{item.change_id}.resolved",
                                    base_version=contest.server_version)
    async with run.history.record("C", "batch_sync", repository=cell.repository,
                                  task_id=cell.task_id, strategy=cell.strategy,
                                  content=item.task.content, base_version=again.base_version,
                                  resolves=True) as op:
        response = await client.batch_sync(cell.repository, [again], 0, cell.strategy)
        run.reported += [plain_record(c) for c in response.conflicts]
        op.note(seq=response.cursor)
    for side in contest.sides:
        if side.side == "C":
            side.op_ids.append(op.op_id)


__all__ = ["Contest", "PendingItem", "SideTracker", "model_inputs", "push", "resolve_manual",
           "setup"]
