"""How the replica's rows read back: the records callers get, and a task's stored sides.

Field sets and server tasks are stored as msgspec JSON blobs (see schema.py); `encode` and
the decoders here are the one codec for them.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

import msgspec

from tasksync.models import SyncTaskFields, Task
from tasksync.replica.errors import TaskNotFound
from tasksync.replica.records import ConflictRecord, LocalTask, PendingChange

encode = msgspec.json.encode
decode_fields = msgspec.json.Decoder(SyncTaskFields).decode
decode_task = msgspec.json.Decoder(Task).decode
_decode_names = msgspec.json.Decoder(list[str]).decode

TASK_COLUMNS = (
    "t.id, t.repository, t.content, t.status, t.priority, t.deleted, t.version, t.updated_at,"
    " t.origin,"
    " (SELECT COUNT(*) FROM outbox o WHERE o.repository = t.repository AND o.task_id = t.id),"
    " EXISTS (SELECT 1 FROM conflicts c WHERE c.repository = t.repository AND c.task_id = t.id"
    " AND c.winner = 'none' AND c.resolution IS NULL)"
)
CONFLICT_VALUES = (
    "conflict_id, repository, task_id, change_id, strategy, winner, base_version, server,"
    " client, client_updated_at, resolved, fields, recorded_at, resolution"
)
CONFLICT_COLUMNS = "id, " + CONFLICT_VALUES
OUTBOX_COLUMNS = "seq, change_id, repository, task_id, task, base_version, base, updated_at"


class TaskRow(NamedTuple):
    """A task's stored sides: the local view, its server version and base, the newest seen."""

    fields: SyncTaskFields
    version: int
    base: SyncTaskFields | None
    server: Task | None


def read_task(db: sqlite3.Connection, repository: str, task_id: str) -> LocalTask:
    """The task as callers see it; TaskNotFound when this replica has never seen it."""
    row = db.execute(
        f"SELECT {TASK_COLUMNS} FROM tasks t WHERE t.repository = ? AND t.id = ?",
        (repository, task_id),
    ).fetchone()
    if row is None:
        raise TaskNotFound(task_id, repository)
    return task_record(row)


def task_row(db: sqlite3.Connection, repository: str, task_id: str) -> TaskRow | None:
    """The task's stored sides, or None when this replica has never seen it."""
    row = db.execute(
        "SELECT content, status, priority, deleted, version, base, server FROM tasks"
        " WHERE repository = ? AND id = ?",
        (repository, task_id),
    ).fetchone()
    if row is None:
        return None
    fields = SyncTaskFields(
        content=row[0], status=row[1], priority=row[2], deleted=bool(row[3])
    )
    return TaskRow(
        fields=fields,
        version=row[4],
        base=decode_fields(row[5]) if row[5] is not None else None,
        server=decode_task(row[6]) if row[6] is not None else None,
    )


def existing_row(db: sqlite3.Connection, repository: str, task_id: str) -> TaskRow:
    """The task's stored sides; TaskNotFound when this replica has never seen it."""
    row = task_row(db, repository, task_id)
    if row is None:
        raise TaskNotFound(task_id, repository)
    return row


def task_record(row: tuple) -> LocalTask:
    """A LocalTask from a row of TASK_COLUMNS."""
    return LocalTask(
        id=row[0], repository=row[1], content=row[2], status=row[3], priority=row[4],
        deleted=bool(row[5]), version=row[6], updated_at=row[7], origin=row[8],
        unsynced=row[9], in_conflict=bool(row[10]),
    )


def pending_record(row: tuple) -> PendingChange:
    """A PendingChange from a row of OUTBOX_COLUMNS."""
    return PendingChange(
        seq=row[0], change_id=row[1], repository=row[2], task_id=row[3],
        task=decode_fields(row[4]), base_version=row[5],
        base=decode_fields(row[6]) if row[6] is not None else None, updated_at=row[7],
    )


def conflict_record(row: tuple) -> ConflictRecord:
    """A ConflictRecord from a row of CONFLICT_COLUMNS."""
    return ConflictRecord(
        id=row[0], conflict_id=row[1], repository=row[2], task_id=row[3], change_id=row[4],
        strategy=row[5], winner=row[6], base_version=row[7],
        server=decode_task(row[8]) if row[8] is not None else None,
        client=decode_fields(row[9]), client_updated_at=row[10],
        resolved=decode_task(row[11]) if row[11] is not None else None,
        fields=_decode_names(row[12]), recorded_at=row[13], resolution=row[14],
    )
