"""The conflicts the server reported, and resolving a manual one by keeping one side."""

from __future__ import annotations

from tasksync.models import task_fields
from tasksync.replica.errors import InvalidTask, NoConflict
from tasksync.replica.outbox import queue_change
from tasksync.replica.records import ConflictRecord, LocalTask
from tasksync.replica.replies import show
from tasksync.replica.rows import (
    CONFLICT_COLUMNS,
    conflict_record,
    encode,
    existing_row,
    read_task,
)
from tasksync.replica.schema import ReplicaFile


class Conflicts(ReplicaFile):
    """The stored conflicts of each repository, and their resolution."""

    def conflicts(self, repository: str, unresolved_only: bool = False) -> list[ConflictRecord]:
        """The conflicts stored for `repository`, oldest first."""
        where = " AND winner = 'none' AND resolution IS NULL" if unresolved_only else ""
        return self._records(
            f"SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE repository = ?{where} ORDER BY id",
            (repository,),
            conflict_record,
        )

    def resolve(self, repository: str, task_id: str, keep: str, *, updated_at: str) -> LocalTask:
        """Close the task's open manual conflicts, keeping the "local" or the "server" side.

        "local" queues the local view as a change based on the newest server version (and
        rebases changes still queued for the task onto it), so the next sync applies it
        without a conflict unless the server moves again. "server" drops the task's queued
        changes and shows the newest server version.
        """
        if keep not in ("local", "server"):
            raise InvalidTask(f"keep must be 'local' or 'server', not {keep!r}")
        with self._transaction() as db:
            open_conflicts = db.execute(
                f"SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE repository = ? AND task_id = ?"
                " AND winner = 'none' AND resolution IS NULL ORDER BY id",
                (repository, task_id),
            ).fetchall()
            if not open_conflicts:
                raise NoConflict(task_id)
            row = existing_row(db, repository, task_id)
            server = row.server or conflict_record(open_conflicts[-1]).server
            db.execute(
                "UPDATE conflicts SET resolution = ? WHERE repository = ? AND task_id = ?"
                " AND winner = 'none' AND resolution IS NULL",
                (keep, repository, task_id),
            )
            if server is None:
                pass  # the server has no such task: the local side is all there is
            elif keep == "server":
                db.execute(
                    "DELETE FROM outbox WHERE repository = ? AND task_id = ?",
                    (repository, task_id),
                )
                show(db, repository, server)
            else:
                base = encode(task_fields(server))
                rebased = db.execute(
                    "UPDATE outbox SET base_version = ?, base = ?"
                    " WHERE repository = ? AND task_id = ?",
                    (server.version, base, repository, task_id),
                ).rowcount
                db.execute(
                    "UPDATE tasks SET version = ?, base = ? WHERE repository = ? AND id = ?",
                    (server.version, base, repository, task_id),
                )
                if not rebased:
                    queue_change(
                        db, self.client_id, repository, task_id, row.fields, server.version,
                        task_fields(server), updated_at,
                    )
            return read_task(db, repository, task_id)
