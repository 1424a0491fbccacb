"""The replica's state in its SQLite file: tasks, the outbox, cursors and conflicts.

Each public method is one transaction. A local change commits together with its outbox
row; a server reply (acknowledged changes, conflicts, pulled events, the new cursor)
commits as a whole. A crash or a failed request therefore never leaves half of either, and
an outbox row disappears only in the transaction that applies the server's answer to it.

The methods are synchronous and short. `Replica` runs the ones that apply server replies on
a worker thread; the lock makes the connection safe to share between that thread and the
event loop's.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import msgspec

from tasksync.ids import new_id
from tasksync.models import (
    MAX_ID_CHARS,
    MAX_REPOSITORY_CHARS,
    REPOSITORY_PATTERN,
    TASK_ID_PATTERN,
    ChangeEvent,
    Conflict,
    SyncResponse,
    SyncTaskFields,
    Task,
    task_fields,
)
from tasksync.replica.errors import (
    ClientIdMismatch,
    InvalidTask,
    NoConflict,
    TaskDeleted,
    TaskExists,
    TaskNotFound,
)
from tasksync.replica.records import ConflictRecord, LocalTask, PendingChange
from tasksync.replica.schema import open_replica_db

_encode = msgspec.json.encode
_decode_fields = msgspec.json.Decoder(SyncTaskFields).decode
_decode_task = msgspec.json.Decoder(Task).decode
_decode_names = msgspec.json.Decoder(list[str]).decode

_LAST_SEQ = 2**63 - 1
_NAME = re.compile(REPOSITORY_PATTERN)
_TASK_ID = re.compile(TASK_ID_PATTERN)

_TASK_COLUMNS = (
    "t.id, t.repository, t.content, t.status, t.priority, t.deleted, t.version, t.updated_at,"
    " t.origin,"
    " (SELECT COUNT(*) FROM outbox o WHERE o.repository = t.repository AND o.task_id = t.id),"
    " EXISTS (SELECT 1 FROM conflicts c WHERE c.repository = t.repository AND c.task_id = t.id"
    " AND c.winner = 'none' AND c.resolution IS NULL)"
)
_CONFLICT_VALUES = (
    "conflict_id, repository, task_id, change_id, strategy, winner, base_version, server,"
    " client, client_updated_at, resolved, fields, recorded_at, resolution"
)
_CONFLICT_COLUMNS = "id, " + _CONFLICT_VALUES
_OUTBOX_COLUMNS = "seq, change_id, repository, task_id, task, base_version, base, updated_at"


def check_fields(content: str, status: str, priority: str, deleted: bool = False) -> SyncTaskFields:
    """The fields as the protocol types them; InvalidTask names the field it rejects.

    Checked before anything is queued: the server would refuse the whole batch, and a
    change it refuses would block the outbox forever.
    """
    try:
        return msgspec.convert(
            {"content": content, "status": status, "priority": priority, "deleted": deleted},
            SyncTaskFields,
        )
    except msgspec.ValidationError as exc:
        raise InvalidTask(f"invalid task: {exc}") from None


def check_task_id(task_id: str) -> str:
    """`task_id` if the protocol accepts it as an id, else InvalidTask."""
    if not (0 < len(task_id) <= MAX_ID_CHARS and _TASK_ID.match(task_id)):
        raise InvalidTask(
            f"invalid task id {task_id!r}: use 1..{MAX_ID_CHARS} letters, digits or . _ : -"
        )
    return task_id


def check_repository(name: str) -> str:
    """`name` if the protocol accepts it as a repository name, else InvalidTask."""
    if not (0 < len(name) <= MAX_REPOSITORY_CHARS and _NAME.match(name)):
        raise InvalidTask(
            f"invalid repository name {name!r}: use 1..{MAX_REPOSITORY_CHARS} letters,"
            " digits or . _ -"
        )
    return name


class _Row(NamedTuple):
    fields: SyncTaskFields
    version: int
    base: SyncTaskFields | None
    server: Task | None


@dataclass(slots=True)
class AppliedReply:
    """What applying one server reply changed locally."""

    acknowledged: int = 0
    replayed: int = 0
    applied_events: int = 0
    conflicts: list[ConflictRecord] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class LocalStore:
    """The replica file at `path`, owned by one client id (generated once and stored)."""

    def __init__(self, path: str | Path, client_id: str | None = None) -> None:
        self.path = Path(path).expanduser()
        self._db = open_replica_db(self.path)
        self._lock = threading.RLock()
        self.client_id = self._own_client_id(client_id)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            # IMMEDIATE: take the write lock up front, so two processes sharing the file
            # wait for each other (busy timeout) instead of failing on upgrade.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _own_client_id(self, given: str | None) -> str:
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'client_id'").fetchone()
            if row is not None:
                if given is not None and given != row[0]:
                    raise ClientIdMismatch(row[0], given)
                return str(row[0])
            client_id = given or uuid.uuid4().hex
            db.execute("INSERT INTO meta (key, value) VALUES ('client_id', ?)", (client_id,))
            return client_id

    # -- local operations -------------------------------------------------------------

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
            if self._row(db, repository, task_id) is not None:
                raise TaskExists(task_id, repository)
            db.execute(
                "INSERT INTO tasks (repository, id, content, status, priority, deleted, version,"
                " base, server, server_version, updated_at, origin)"
                " VALUES (?, ?, ?, ?, ?, 0, 0, NULL, NULL, 0, ?, ?)",
                (repository, task_id, fields.content, fields.status, fields.priority,
                 updated_at, self.client_id),
            )
            self._queue(db, repository, task_id, fields, 0, None, updated_at)
            return self._get(db, repository, task_id)

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
            row = self._existing_row(db, repository, task_id)
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
            return self._get(db, repository, task_id)

    def delete(self, repository: str, task_id: str, *, updated_at: str) -> LocalTask:
        """The tombstone; deleting a tombstone again queues nothing."""
        with self._transaction() as db:
            row = self._existing_row(db, repository, task_id)
            if not row.fields.deleted:
                current = row.fields
                tombstone = SyncTaskFields(
                    content=current.content, status=current.status, priority=current.priority,
                    deleted=True,
                )
                self._change(db, repository, task_id, row, tombstone, updated_at)
            return self._get(db, repository, task_id)

    def get(self, repository: str, task_id: str) -> LocalTask:
        """The task (tombstones too); TaskNotFound when this replica has never seen it."""
        with self._lock:
            return self._get(self._db, repository, task_id)

    def find(self, repository: str, id_or_prefix: str) -> LocalTask:
        """The task whose id is `id_or_prefix`, or the only one whose id starts with it."""
        with self._lock:
            exact = self._db.execute(
                "SELECT 1 FROM tasks WHERE repository = ? AND id = ?", (repository, id_or_prefix)
            ).fetchone()
            if exact:
                return self._get(self._db, repository, id_or_prefix)
            ids = [
                row[0]
                for row in self._db.execute(
                    "SELECT id FROM tasks WHERE repository = ? AND substr(id, 1, ?) = ? LIMIT 2",
                    (repository, len(id_or_prefix), id_or_prefix),
                )
            ]
            if len(ids) != 1:
                raise TaskNotFound(id_or_prefix, repository)
            return self._get(self._db, repository, ids[0])

    def list(self, repository: str, include_deleted: bool = False) -> list[LocalTask]:
        """The repository's tasks in the order this replica first saw them."""
        where = "" if include_deleted else " AND t.deleted = 0"
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_TASK_COLUMNS} FROM tasks t WHERE t.repository = ?{where}"
                " ORDER BY t.rowid",
                (repository,),
            ).fetchall()
        return [_local_task(row) for row in rows]

    # -- outbox and cursor ------------------------------------------------------------

    def pending_changes(
        self,
        repository: str,
        limit: int | None = None,
        *,
        after_seq: int = 0,
        up_to_seq: int | None = None,
    ) -> list[PendingChange]:
        """The outbox of `repository`, oldest change first, optionally a window of it."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE repository = ? AND seq > ?"
                " AND seq <= ? ORDER BY seq LIMIT ?",
                (repository, after_seq, _LAST_SEQ if up_to_seq is None else up_to_seq,
                 -1 if limit is None else limit),
            ).fetchall()
        return [_pending_change(row) for row in rows]

    def last_pending_seq(self, repository: str) -> int:
        """The seq of the newest queued change of `repository` (0: the outbox is empty)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(seq) FROM outbox WHERE repository = ?", (repository,)
            ).fetchone()
        return int(row[0] or 0)

    def pending_count(self, repository: str) -> int:
        with self._lock:
            return int(
                self._db.execute(
                    "SELECT COUNT(*) FROM outbox WHERE repository = ?", (repository,)
                ).fetchone()[0]
            )

    def cursor(self, repository: str) -> int:
        """The seq of the last server event applied for `repository` (0: none yet)."""
        with self._lock:
            return _cursor(self._db, repository)

    # -- server replies ---------------------------------------------------------------

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
                    applied.conflicts.append(self._save_conflict(db, conflict, recorded_at))
                if result.outcome == "rejected":
                    # The id belongs to a task of another repository: this change can never
                    # apply, so it leaves the outbox and the caller reports it.
                    applied.rejected.append(result.task_id)
                elif result.task is not None:
                    self._observe(db, repository, result.task)
            for conflict in reported.values():  # reported without a result: keep it anyway
                applied.conflicts.append(self._save_conflict(db, conflict, recorded_at))
            for event in reply.changes:
                if event.repository == repository:
                    applied.applied_events += self._observe(db, repository, event.task)
            _advance_cursor(db, repository, reply.cursor)
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
            cursor = _cursor(db, repository)
            for event in events:
                if event.repository != repository or event.seq <= cursor:
                    continue
                changed += self._observe(db, repository, event.task)
                if event.seq == cursor + 1:
                    cursor = event.seq
            _advance_cursor(db, repository, cursor)
        return changed

    def apply_full_state(self, repository: str, tasks: Iterable[Task], cursor: int) -> int:
        """Apply a full listing of the server's tasks (after a resync); the tasks changed."""
        with self._transaction() as db:
            changed = sum(self._observe(db, repository, task) for task in tasks)
            _advance_cursor(db, repository, cursor)
        return changed

    # -- conflicts --------------------------------------------------------------------

    def conflicts(self, repository: str, unresolved_only: bool = False) -> list[ConflictRecord]:
        """The conflicts stored for `repository`, oldest first."""
        where = " AND winner = 'none' AND resolution IS NULL" if unresolved_only else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_CONFLICT_COLUMNS} FROM conflicts WHERE repository = ?{where}"
                " ORDER BY id",
                (repository,),
            ).fetchall()
        return [_conflict_record(row) for row in rows]

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
                f"SELECT {_CONFLICT_COLUMNS} FROM conflicts WHERE repository = ? AND task_id = ?"
                " AND winner = 'none' AND resolution IS NULL ORDER BY id",
                (repository, task_id),
            ).fetchall()
            if not open_conflicts:
                raise NoConflict(task_id)
            row = self._existing_row(db, repository, task_id)
            server = row.server or _conflict_record(open_conflicts[-1]).server
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
                self._show(db, repository, server)
            else:
                base = _encode(task_fields(server))
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
                    self._queue(
                        db, repository, task_id, row.fields, server.version,
                        task_fields(server), updated_at,
                    )
            return self._get(db, repository, task_id)

    # -- internals --------------------------------------------------------------------

    def _get(self, db: sqlite3.Connection, repository: str, task_id: str) -> LocalTask:
        row = db.execute(
            f"SELECT {_TASK_COLUMNS} FROM tasks t WHERE t.repository = ? AND t.id = ?",
            (repository, task_id),
        ).fetchone()
        if row is None:
            raise TaskNotFound(task_id, repository)
        return _local_task(row)

    def _row(self, db: sqlite3.Connection, repository: str, task_id: str) -> _Row | None:
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
        return _Row(
            fields=fields,
            version=row[4],
            base=_decode_fields(row[5]) if row[5] is not None else None,
            server=_decode_task(row[6]) if row[6] is not None else None,
        )

    def _existing_row(self, db: sqlite3.Connection, repository: str, task_id: str) -> _Row:
        row = self._row(db, repository, task_id)
        if row is None:
            raise TaskNotFound(task_id, repository)
        return row

    def _change(
        self,
        db: sqlite3.Connection,
        repository: str,
        task_id: str,
        row: _Row,
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
        self._queue(db, repository, task_id, fields, row.version, row.fields, updated_at)

    def _queue(
        self,
        db: sqlite3.Connection,
        repository: str,
        task_id: str,
        fields: SyncTaskFields,
        base_version: int,
        base: SyncTaskFields | None,
        updated_at: str,
    ) -> str:
        counter = db.execute("SELECT value FROM meta WHERE key = 'change_counter'").fetchone()
        number = int(counter[0]) + 1 if counter else 1
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('change_counter', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(number),),
        )
        change_id = f"{self.client_id}:{number}"
        db.execute(
            "INSERT INTO outbox (change_id, repository, task_id, task, base_version, base,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (change_id, repository, task_id, _encode(fields), base_version,
             _encode(base) if base is not None else None, updated_at),
        )
        return change_id

    def _protected(self, db: sqlite3.Connection, repository: str, task_id: str) -> bool:
        # A queued change or an open manual conflict: the local side must stay visible.
        row = db.execute(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE repository = ? AND task_id = ?)"
            " OR EXISTS (SELECT 1 FROM conflicts WHERE repository = ? AND task_id = ?"
            " AND winner = 'none' AND resolution IS NULL)",
            (repository, task_id, repository, task_id),
        ).fetchone()
        return bool(row[0])

    def _observe(self, db: sqlite3.Connection, repository: str, task: Task) -> bool:
        """Record a server version of a task; show it unless the local side must stay.

        Returns whether the local view changed. The newest server version seen is kept
        even while the view cannot show it, so that when the task's last queued change is
        acknowledged the view moves to the newest version, not to that change's result.
        """
        if task.repository != repository:
            return False
        blob = _encode(task)
        inserted = db.execute(
            "INSERT INTO tasks (repository, id, content, status, priority, deleted, version,"
            " base, server, server_version, updated_at, origin)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (repository, id) DO NOTHING",
            (repository, task.id, task.content, task.status, task.priority, int(task.deleted),
             task.version, _encode(task_fields(task)), blob, task.version, task.updated_at,
             task.origin),
        ).rowcount
        if inserted:
            return True
        db.execute(
            "UPDATE tasks SET server = ?, server_version = ?"
            " WHERE repository = ? AND id = ? AND server_version < ?",
            (blob, task.version, repository, task.id, task.version),
        )
        if self._protected(db, repository, task.id):
            return False
        newest = db.execute(
            "SELECT server FROM tasks WHERE repository = ? AND id = ? AND server_version > version",
            (repository, task.id),
        ).fetchone()
        if newest is None:
            return False
        self._show(db, repository, _decode_task(newest[0]))
        return True

    def _show(self, db: sqlite3.Connection, repository: str, task: Task) -> None:
        db.execute(
            "UPDATE tasks SET content = ?, status = ?, priority = ?, deleted = ?, version = ?,"
            " base = ?, updated_at = ?, origin = ? WHERE repository = ? AND id = ?",
            (task.content, task.status, task.priority, int(task.deleted), task.version,
             _encode(task_fields(task)), task.updated_at, task.origin, repository, task.id),
        )

    def _save_conflict(
        self, db: sqlite3.Connection, conflict: Conflict, recorded_at: str
    ) -> ConflictRecord:
        cursor = db.execute(
            f"INSERT INTO conflicts ({_CONFLICT_VALUES})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (conflict.conflict_id or None, conflict.repository, conflict.task_id,
             conflict.change_id, conflict.strategy, conflict.winner, conflict.base_version,
             _encode(conflict.server) if conflict.server is not None else None,
             _encode(conflict.client), conflict.client_updated_at,
             _encode(conflict.resolved) if conflict.resolved is not None else None,
             _encode(conflict.fields), recorded_at),
        )
        row = db.execute(
            f"SELECT {_CONFLICT_COLUMNS} FROM conflicts WHERE id = ?", (cursor.lastrowid,)
        ).fetchone()
        return _conflict_record(row)


def _cursor(db: sqlite3.Connection, repository: str) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (f"cursor:{repository}",)).fetchone()
    return int(row[0]) if row else 0


def _advance_cursor(db: sqlite3.Connection, repository: str, cursor: int) -> None:
    # Only forward: a sync and a watch may apply overlapping stretches of the log.
    if cursor > _cursor(db, repository):
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (f"cursor:{repository}", str(cursor)),
        )


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


def _local_task(row: tuple) -> LocalTask:
    return LocalTask(
        id=row[0], repository=row[1], content=row[2], status=row[3], priority=row[4],
        deleted=bool(row[5]), version=row[6], updated_at=row[7], origin=row[8],
        unsynced=row[9], in_conflict=bool(row[10]),
    )


def _pending_change(row: tuple) -> PendingChange:
    return PendingChange(
        seq=row[0], change_id=row[1], repository=row[2], task_id=row[3],
        task=_decode_fields(row[4]), base_version=row[5],
        base=_decode_fields(row[6]) if row[6] is not None else None, updated_at=row[7],
    )


def _conflict_record(row: tuple) -> ConflictRecord:
    return ConflictRecord(
        id=row[0], conflict_id=row[1], repository=row[2], task_id=row[3], change_id=row[4],
        strategy=row[5], winner=row[6], base_version=row[7],
        server=_decode_task(row[8]) if row[8] is not None else None,
        client=_decode_fields(row[9]), client_updated_at=row[10],
        resolved=_decode_task(row[11]) if row[11] is not None else None,
        fields=_decode_names(row[12]), recorded_at=row[13], resolution=row[14],
    )
