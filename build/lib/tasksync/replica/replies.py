"""How the server's answers reach the local view: sync replies, live events, full state.

A server version never hides a local change still queued or an open manual conflict: it is
kept aside (the task's `server` column) until the local side settles.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from tasksync.models import ChangeEvent, Conflict, SyncResponse, Task, task_fields
from tasksync.replica.outbox import advance_cursor, read_cursor
from tasksync.replica.records import ConflictRecord, PendingChange
from tasksync.replica.rows import (
    CONFLICT_COLUMNS,
    CONFLICT_VALUES,
    conflict_record,
    decode_task,
    encode,
)
from tasksync.replica.schema import ReplicaFile


@dataclass(slots=True)
class AppliedReply:
    """What applying one server reply changed locally."""

    acknowledged: int = 0
    replayed: int = 0
    applied_events: int = 0
    conflicts: list[ConflictRecord] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class ServerReplies(ReplicaFile):
    """Applies what the server answered, each answer in one transaction."""

    def apply_reply(
        self,
        repository: str,
        sent: Iterable[PendingChange],
        reply: SyncResponse,
        *,
        strategy: str,
        recorded_at: str,
    ) -> AppliedReply:
        """Apply a batch-sync reply in one transaction.

        Each acknowledged change leaves the outbox; the task takes the server's result
        unless the user still has a newer change (or an open manual conflict) for it; every
        reported conflict is stored; pulled events are applied and the cursor advances.
        Changes the reply does not acknowledge stay in the outbox.
        """
        sent_by_id = {change.change_id: change for change in sent}
        reported = {conflict.change_id: conflict for conflict in reply.conflicts}
        applied = AppliedReply()
        with self._transaction() as db:
            for result in reply.results:
                change = sent_by_id.pop(result.change_id, None)
                if change is None:
                    continue  # not a change of this batch: nothing of ours to settle
                db.execute("DELETE FROM outbox WHERE change_id = ?", (result.change_id,))
                applied.acknowledged += 1
                applied.replayed += result.replayed
                conflict = reported.pop(result.change_id, None)
                if conflict is None and result.outcome == "conflict":
                    # A change replayed after a lost reply is not reported again by the
                    # server; rebuild the conflict so a manual one is not silently dropped.
                    conflict = _rebuilt_conflict(repository, change, result.task, strategy)
                if conflict is not None:
                    applied.conflicts.append(_save_conflict(db, conflict, recorded_at))
                if result.outcome == "rejected":
                    # The id belongs to a task of another repository: this change can never
                    # apply, so it leaves the outbox and the caller reports it.
                    applied.rejected.append(result.task_id)
                elif result.task is not None:
                    observe(db, repository, result.task)
            for conflict in reported.values():  # reported without a result: keep it anyway
                applied.conflicts.append(_save_conflict(db, conflict, recorded_at))
            for event in reply.changes:
                if event.repository == repository:
                    applied.applied_events += observe(db, repository, event.task)
            advance_cursor(db, repository, reply.cursor)
        return applied

    def apply_events(self, repository: str, events: Iterable[ChangeEvent]) -> int:
        """Apply live events newer than the cursor; the number that changed a local task.

        Events at or below the cursor are duplicates (delivery is at-least-once) or were
        already pulled by a sync, and are dropped. The cursor only moves over consecutive
        seqs: after a missed event it stays before the hole, so the next sync pulls the
        missed event (events past the hole are applied anyway; applying them again is
        harmless, a task only moves to newer versions).
        """
        changed = 0
        with self._transaction() as db:
            cursor = read_cursor(db, repository)
            for event in events:
                if event.repository != repository or event.seq <= cursor:
                    continue
                changed += observe(db, repository, event.task)
                if event.seq == cursor + 1:
                    cursor = event.seq
            advance_cursor(db, repository, cursor)
        return changed

    def apply_full_state(self, repository: str, tasks: Iterable[Task], cursor: int) -> int:
        """Apply a full listing of the server's tasks (after a resync); the tasks changed."""
        with self._transaction() as db:
            changed = sum(observe(db, repository, task) for task in tasks)
            advance_cursor(db, repository, cursor)
        return changed


def observe(db: sqlite3.Connection, repository: str, task: Task) -> bool:
    """Record a server version of a task; show it unless the local side must stay.

    Returns whether the local view changed. The newest server version seen is kept
    even while the view cannot show it, so that when the task's last queued change is
    acknowledged the view moves to the newest version, not to that change's result.
    """
    if task.repository != repository:
        return False
    blob = encode(task)
    inserted = db.execute(
        "INSERT INTO tasks (repository, id, content, status, priority, deleted, version,"
        " base, server, server_version, updated_at, origin)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (repository, id) DO NOTHING",
        (repository, task.id, task.content, task.status, task.priority, int(task.deleted),
         task.version, encode(task_fields(task)), blob, task.version, task.updated_at,
         task.origin),
    ).rowcount
    if inserted:
        return True
    db.execute(
        "UPDATE tasks SET server = ?, server_version = ?"
        " WHERE repository = ? AND id = ? AND server_version < ?",
        (blob, task.version, repository, task.id, task.version),
    )
    if _protected(db, repository, task.id):
        return False
    newest = db.execute(
        "SELECT server FROM tasks WHERE repository = ? AND id = ? AND server_version > version",
        (repository, task.id),
    ).fetchone()
    if newest is None:
        return False
    show(db, repository, decode_task(newest[0]))
    return True


def show(db: sqlite3.Connection, repository: str, task: Task) -> None:
    """Make the server's `task` the local view (its version becomes the view's base)."""
    db.execute(
        "UPDATE tasks SET content = ?, status = ?, priority = ?, deleted = ?, version = ?,"
        " base = ?, updated_at = ?, origin = ? WHERE repository = ? AND id = ?",
        (task.content, task.status, task.priority, int(task.deleted), task.version,
         encode(task_fields(task)), task.updated_at, task.origin, repository, task.id),
    )


def _protected(db: sqlite3.Connection, repository: str, task_id: str) -> bool:
    # A queued change or an open manual conflict: the local side must stay visible.
    row = db.execute(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE repository = ? AND task_id = ?)"
        " OR EXISTS (SELECT 1 FROM conflicts WHERE repository = ? AND task_id = ?"
        " AND winner = 'none' AND resolution IS NULL)",
        (repository, task_id, repository, task_id),
    ).fetchone()
    return bool(row[0])


def _save_conflict(db: sqlite3.Connection, conflict: Conflict, recorded_at: str) -> ConflictRecord:
    cursor = db.execute(
        f"INSERT INTO conflicts ({CONFLICT_VALUES})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        (conflict.conflict_id or None, conflict.repository, conflict.task_id,
         conflict.change_id, conflict.strategy, conflict.winner, conflict.base_version,
         encode(conflict.server) if conflict.server is not None else None,
         encode(conflict.client), conflict.client_updated_at,
         encode(conflict.resolved) if conflict.resolved is not None else None,
         encode(conflict.fields), recorded_at),
    )
    row = db.execute(
        f"SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id = ?", (cursor.lastrowid,)
    ).fetchone()
    return conflict_record(row)


def _rebuilt_conflict(
    repository: str, change: PendingChange, server: Task | None, strategy: str
) -> Conflict:
    return Conflict(
        conflict_id=0,
        task_id=change.task_id,
        repository=repository,
        change_id=change.change_id,
        strategy=strategy,
        winner="none" if strategy == "manual" else "server",
        base_version=change.base_version,
        server=server,
        client=change.task,
        client_updated_at=change.updated_at,
        resolved=None if strategy == "manual" else server,
    )
