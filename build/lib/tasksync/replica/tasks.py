"""The local operations on tasks: add, edit, delete and read, all offline.

A change commits together with its outbox row, in one transaction.
"""

from __future__ import annotations

import sqlite3

from tasksync.ids import new_id
from tasksync.models import SyncTaskFields
from tasksync.replica.checks import check_fields, check_task_id
from tasksync.replica.errors import AmbiguousTaskId, TaskDeleted, TaskExists, TaskNotFound
from tasksync.replica.outbox import queue_change
from tasksync.replica.records import LocalTask
from tasksync.replica.rows import (
    TASK_COLUMNS,
    TaskRow,
    existing_row,
    read_task,
    task_record,
    task_row,
)
from tasksync.replica.schema import ReplicaFile

AMBIGUOUS_SHOWN = 10  # ids an ambiguous prefix lists


class Tasks(ReplicaFile):
    """The replica's tasks as its user changes and reads them."""

    def add(
        self,
        repository: str,
        content: str,
        *,
        updated_at: str,
        task_id: str | None = None,
        status: str = "pending",
        priority: str = "medium",
    ) -> LocalTask:
        """The new task, queued for the server with base version 0."""
        fields = check_fields(content, status, priority)
        task_id = check_task_id(task_id) if task_id is not None else new_id()
        with self._transaction() as db:
            if task_row(db, repository, task_id) is not None:
                raise TaskExists(task_id, repository)
            db.execute(
                "INSERT INTO tasks (repository, id, content, status, priority, deleted, version,"
                " base, server, server_version, updated_at, origin)"
                " VALUES (?, ?, ?, ?, ?, 0, 0, NULL, NULL, 0, ?, ?)",
                (repository, task_id, fields.content, fields.status, fields.priority,
                 updated_at, self.client_id),
            )
            queue_change(db, self.client_id, repository, task_id, fields, 0, None, updated_at)
            return read_task(db, repository, task_id)

    def edit(
        self,
        repository: str,
        task_id: str,
        *,
        updated_at: str,
        content: str | None = None,
        status: str | None = None,
        priority: str | None = None,
    ) -> LocalTask:
        """The edited task; an edit that changes nothing queues nothing."""
        with self._transaction() as db:
            row = existing_row(db, repository, task_id)
            if row.fields.deleted:
                raise TaskDeleted(task_id)
            current = row.fields
            fields = check_fields(
                current.content if content is None else content,
                current.status if status is None else status,
                current.priority if priority is None else priority,
            )
            if fields != current:
                self._change(db, repository, task_id, row, fields, updated_at)
            return read_task(db, repository, task_id)

    def delete(self, repository: str, task_id: str, *, updated_at: str) -> LocalTask:
        """The tombstone; deleting a tombstone again queues nothing."""
        with self._transaction() as db:
            row = existing_row(db, repository, task_id)
            if not row.fields.deleted:
                current = row.fields
                tombstone = SyncTaskFields(
                    content=current.content, status=current.status, priority=current.priority,
                    deleted=True,
                )
                self._change(db, repository, task_id, row, tombstone, updated_at)
            return read_task(db, repository, task_id)

    def get(self, repository: str, task_id: str) -> LocalTask:
        """The task (tombstones too); TaskNotFound when this replica has never seen it."""
        with self._lock:
            return read_task(self._db, repository, task_id)

    def find(self, repository: str, id_or_prefix: str) -> LocalTask:
        """The task whose id is `id_or_prefix`, or the only one whose id starts with it."""
        with self._lock:
            exact = self._db.execute(
                "SELECT 1 FROM tasks WHERE repository = ? AND id = ?", (repository, id_or_prefix)
            ).fetchone()
            if exact:
                return read_task(self._db, repository, id_or_prefix)
            ids = [
                row[0]
                for row in self._db.execute(
                    "SELECT id FROM tasks WHERE repository = ? AND substr(id, 1, ?) = ?"
                    " ORDER BY id LIMIT ?",
                    (repository, len(id_or_prefix), id_or_prefix, AMBIGUOUS_SHOWN + 1),
                )
            ]
            if not ids:
                raise TaskNotFound(id_or_prefix, repository)
            if len(ids) > 1:
                raise AmbiguousTaskId(id_or_prefix, repository, ids, AMBIGUOUS_SHOWN)
            return read_task(self._db, repository, ids[0])

    def list(self, repository: str, include_deleted: bool = False) -> list[LocalTask]:
        """The repository's tasks in the order this replica first saw them."""
        where = "" if include_deleted else " AND t.deleted = 0"
        return self._records(
            f"SELECT {TASK_COLUMNS} FROM tasks t WHERE t.repository = ?{where} ORDER BY t.rowid",
            (repository,),
            task_record,
        )

    def _change(
        self,
        db: sqlite3.Connection,
        repository: str,
        task_id: str,
        row: TaskRow,
        fields: SyncTaskFields,
        updated_at: str,
    ) -> None:
        db.execute(
            "UPDATE tasks SET content = ?, status = ?, priority = ?, deleted = ?, updated_at = ?,"
            " origin = ? WHERE repository = ? AND id = ?",
            (fields.content, fields.status, fields.priority, int(fields.deleted), updated_at,
             self.client_id, repository, task_id),
        )
        # base_version stays the server version the view stood on, even when earlier changes
        # of the task are still queued (the server never counts a client's own writes against
        # it); base is what this edit started from, so the server can replay a chain of
        # offline edits onto its own merge of the first one without undoing that merge.
        queue_change(
            db, self.client_id, repository, task_id, fields, row.version, row.fields, updated_at
        )
