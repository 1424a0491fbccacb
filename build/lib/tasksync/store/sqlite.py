"""SQLite storage (WAL): the embedded default behind TaskStore.

One connection, used from one thread at a time (the server gives storage a thread of its
own). WAL with synchronous=NORMAL: a committed transaction is in the WAL file before the
server acknowledges it, so it survives `kill -9` of the server process (not a power cut,
which FULL would also cover at a cost per commit).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from tasksync.models import ChangeEvent, Conflict, ItemResult, Task
from tasksync.sqlite_owner import SERVER, ForeignDatabase, claim, connect_owned
from tasksync.store.base import AppliedChange, StorageError, StoredReply
from tasksync.store.deferred import DeferredInserts

SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    position   INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    repository TEXT NOT NULL,
    content    TEXT NOT NULL,
    status     TEXT NOT NULL,
    priority   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted    INTEGER NOT NULL,
    origin     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_repository ON tasks (repository, position);
CREATE TABLE IF NOT EXISTS repositories (
    name         TEXT PRIMARY KEY,
    last_seq     INTEGER NOT NULL,
    earliest_seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
    repository TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    type       TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    origin     TEXT NOT NULL,
    timestamp  TEXT NOT NULL,
    task       BLOB NOT NULL,
    PRIMARY KEY (repository, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS changes_by_task ON changes (task_id, version);
CREATE TABLE IF NOT EXISTS applied_changes (
    change_id TEXT PRIMARY KEY,  -- change_key(): client, repository, change id
    result    BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conflicts (
    conflict_id INTEGER PRIMARY KEY AUTOINCREMENT,
    repository  TEXT NOT NULL,
    body        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency (
    key         TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        BLOB NOT NULL
) WITHOUT ROWID;
"""

_TASK_COLUMNS = "id, repository, content, status, priority, version, created_at, updated_at, deleted, origin"
_INSERT_TASK = f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_CHANGE = ("INSERT INTO changes (repository, seq, type, task_id, version, origin, timestamp,"
                  " task) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_RESULT = "INSERT INTO applied_changes (change_id, result) VALUES (?, ?)"
_INSERT_REPLY = "INSERT INTO idempotency (key, fingerprint, status, body) VALUES (?, ?, ?, ?)"
_encode = msgspec.json.encode
_decode_task = msgspec.json.Decoder(Task).decode
_decode_applied = msgspec.json.Decoder(AppliedChange).decode
_decode_result = msgspec.json.Decoder(ItemResult).decode
_decode_conflict = msgspec.json.Decoder(Conflict).decode

def _task_from_row(row: tuple) -> Task:
    return Task(
        id=row[0], repository=row[1], content=row[2], status=row[3], priority=row[4],
        version=row[5], created_at=row[6], updated_at=row[7], deleted=bool(row[8]), origin=row[9],
    )


def _applied_from_row(row: tuple) -> AppliedChange:
    try:
        return _decode_applied(row[0])
    except msgspec.ValidationError:  # a bare ItemResult, stored before fingerprints
        return AppliedChange(_decode_result(row[0]))


def _reply_from_row(row: tuple) -> StoredReply:
    return StoredReply(fingerprint=row[0], status=row[1], body=row[2])


def _task_values(task: Task) -> tuple:
    return (
        task.id, task.repository, task.content, task.status, task.priority, task.version,
        task.created_at, task.updated_at, int(task.deleted), task.origin,
    )


class SQLiteStore(DeferredInserts):
    """TaskStore on one SQLite file; `log_retention` keeps only that many events per repository."""

    def __init__(self, path: str | Path, log_retention: int | None = None) -> None:
        self.path = Path(path)
        self.log_retention = log_retention
        try:
            claim(self.path, SERVER, "give `tasksync serve --db` a database file of its own")
        except ForeignDatabase as exc:
            raise StorageError(str(exc)) from None
        try:
            # the server hands the connection to its storage thread after opening it here
            self._db = connect_owned(self.path, SERVER, SCHEMA, ("foreign_keys=OFF",))
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the database {self.path}: "
                               f"{getattr(exc, 'strerror', None) or exc}; check that its "
                               "folder exists or can be made, and is writable") from None
        # The log bounds per repository, cached: this store is the only writer of its file.
        # Appends in a transaction update the cache; the repositories rows are written once,
        # just before COMMIT (one upsert per repository, not one per event).
        self._bounds: dict[str, tuple[int, int]] = {}
        self._unsaved_bounds: dict[str, tuple[int, int]] = {}
        self._in_transaction = False
        # Inside a transaction the inserts of creates are queued (DeferredInserts).
        self._savepoints = 0
        self._forget_deferred()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit everything done inside, or roll all of it back on an exception."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(f"could not start a transaction: {exc}") from exc
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._forget_rolled_back()
            raise
        else:
            try:
                self.flush()
                self._save_bounds()
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                self._forget_rolled_back()
                raise StorageError(f"commit failed: {exc}") from exc
        finally:
            self._in_transaction = False

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: undo only what was done inside on an exception."""
        self.flush()  # inside, statements run at once, so a rollback undoes exactly them
        bounds, unsaved = dict(self._bounds), dict(self._unsaved_bounds)
        self._db.execute("SAVEPOINT request")
        self._savepoints += 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK TO request")
            self._db.execute("RELEASE request")
            self._bounds, self._unsaved_bounds = bounds, unsaved  # as they were at the start
            raise
        else:
            self._db.execute("RELEASE request")
        finally:
            self._savepoints -= 1

    def ping(self) -> None:
        try:
            self._sql("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"storage not ready: {exc}") from exc

    # -- tasks -------------------------------------------------------------------------

    def get_task(self, task_id: str) -> Task | None:
        return self._read_through(
            self._deferred_tasks, task_id,
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,), _task_from_row,
        )

    def insert_task(self, task: Task) -> None:
        if self._defer(_INSERT_TASK, _task_values(task)):
            self._deferred_tasks[task.id] = task

    def replace_task(self, task: Task) -> None:
        self._sql(
            "UPDATE tasks SET content = ?, status = ?, priority = ?, version = ?, updated_at = ?,"
            " deleted = ?, origin = ? WHERE id = ?",
            (task.content, task.status, task.priority, task.version, task.updated_at,
             int(task.deleted), task.origin, task.id),
        )

    def list_tasks(
        self, repository: str, after_position: int, limit: int, include_deleted: bool
    ) -> tuple[list[Task], int | None]:
        deleted_clause = "" if include_deleted else " AND deleted = 0"
        rows = self._sql(
            f"SELECT position, {_TASK_COLUMNS} FROM tasks WHERE repository = ? AND position > ?"
            f"{deleted_clause} ORDER BY position LIMIT ?",
            (repository, after_position, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_position = rows[-1][0] if more and rows else None
        return [_task_from_row(row[1:]) for row in rows], next_position

    # -- change log --------------------------------------------------------------------

    def log_bounds(self, repository: str) -> tuple[int, int]:
        bounds = self._bounds.get(repository)
        if bounds is None:
            row = self._sql(
                "SELECT earliest_seq, last_seq FROM repositories WHERE name = ?", (repository,)
            ).fetchone()
            bounds = (row[0], row[1]) if row else (0, 0)
            self._bounds[repository] = bounds
        return bounds

    def append_event(self, event_type: str, task: Task, timestamp: str) -> ChangeEvent:
        earliest, last = self.log_bounds(task.repository)
        seq = last + 1
        earliest = earliest or 1
        event = ChangeEvent(
            repository=task.repository, seq=seq, type=event_type, task_id=task.id,
            version=task.version, task=task, origin=task.origin, timestamp=timestamp,
        )
        self._defer(_INSERT_CHANGE, (task.repository, seq, event_type, task.id, task.version,
                                     task.origin, timestamp, _encode(task)))
        if self.log_retention is not None and seq - earliest + 1 > self.log_retention:
            earliest = seq - self.log_retention + 1
            self._sql(
                "DELETE FROM changes WHERE repository = ? AND seq < ?", (task.repository, earliest)
            )
        self._bounds[task.repository] = self._unsaved_bounds[task.repository] = (earliest, seq)
        if not self._in_transaction:
            self._save_bounds()
        return event

    def _save_bounds(self) -> None:
        if not self._unsaved_bounds:
            return
        self._db.executemany(
            "INSERT INTO repositories (name, last_seq, earliest_seq) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET last_seq = excluded.last_seq,"
            " earliest_seq = excluded.earliest_seq",
            [(name, last, earliest) for name, (earliest, last) in self._unsaved_bounds.items()],
        )
        self._unsaved_bounds.clear()

    def _forget_rolled_back(self) -> None:
        """After a ROLLBACK: drop the cached bounds (they may hold rolled-back seqs), the
        unsaved ones and the deferred rows."""
        self._bounds.clear()
        self._unsaved_bounds.clear()
        self._forget_deferred()

    def changes(self, repository: str, after: int, limit: int) -> list[ChangeEvent]:
        rows = self._sql(
            "SELECT seq, type, task_id, version, origin, timestamp, task FROM changes"
            " WHERE repository = ? AND seq > ? ORDER BY seq LIMIT ?",
            (repository, after, limit),
        ).fetchall()
        return [
            ChangeEvent(
                repository=repository, seq=row[0], type=row[1], task_id=row[2], version=row[3],
                origin=row[4], timestamp=row[5], task=_decode_task(row[6]),
            )
            for row in rows
        ]

    def snapshot_at(self, task_id: str, version: int) -> Task | None:
        row = self._sql(
            "SELECT task FROM changes WHERE task_id = ? AND version = ?", (task_id, version)
        ).fetchone()
        return _decode_task(row[0]) if row else None

    def written_by_others_since(self, task_id: str, version: int, origin: str) -> bool:
        earliest_kept = self._sql(
            "SELECT MIN(version) FROM changes WHERE task_id = ?", (task_id,)
        ).fetchone()[0]
        if earliest_kept is None or earliest_kept > version + 1:
            return True  # the log no longer shows who wrote those versions: assume others did
        row = self._sql(
            "SELECT 1 FROM changes WHERE task_id = ? AND version > ? AND origin != ? LIMIT 1",
            (task_id, version, origin),
        ).fetchone()
        return row is not None

    def latest_version_by(self, task_id: str, origin: str, after_version: int) -> int | None:
        row = self._sql(
            "SELECT MAX(version) FROM changes WHERE task_id = ? AND origin = ? AND version > ?",
            (task_id, origin, after_version),
        ).fetchone()
        return row[0]

    # -- applied changes, conflicts, idempotency ---------------------------------------

    def applied_change(self, key: str) -> AppliedChange | None:
        return self._read_through(
            self._deferred_results, key,
            "SELECT result FROM applied_changes WHERE change_id = ?", (key,), _applied_from_row,
        )

    def record_change(self, key: str, change: AppliedChange) -> None:
        if self._defer(_INSERT_RESULT, (key, _encode(change))):
            self._deferred_results[key] = change

    def save_conflict(self, conflict: Conflict) -> int:
        cursor = self._sql(
            "INSERT INTO conflicts (repository, body) VALUES (?, ?)", (conflict.repository, b"")
        )
        conflict_id = int(cursor.lastrowid or 0)
        conflict.conflict_id = conflict_id
        self._sql(
            "UPDATE conflicts SET body = ? WHERE conflict_id = ?", (_encode(conflict), conflict_id)
        )
        return conflict_id

    def conflicts(self, repository: str, after_id: int, limit: int) -> list[Conflict]:
        rows = self._sql(
            "SELECT body FROM conflicts WHERE repository = ? AND conflict_id > ?"
            " ORDER BY conflict_id LIMIT ?",
            (repository, after_id, limit),
        ).fetchall()
        return [_decode_conflict(row[0]) for row in rows]

    def stored_reply(self, key: str) -> StoredReply | None:
        return self._read_through(
            self._deferred_replies, key,
            "SELECT fingerprint, status, body FROM idempotency WHERE key = ?", (key,),
            _reply_from_row,
        )

    def save_reply(self, key: str, reply: StoredReply) -> None:
        if self._defer(_INSERT_REPLY, (key, reply.fingerprint, reply.status, reply.body)):
            self._deferred_replies[key] = reply

    # -- how DeferredInserts executes ----------------------------------------------------

    def _execute(self, statement: str, row: tuple) -> sqlite3.Cursor:
        return self._db.execute(statement, row)

    def _execute_many(self, statement: str, rows: list[tuple]) -> None:
        self._db.executemany(statement, rows)

    def _fetch_one(self, statement: str, params: tuple) -> tuple | None:
        return self._db.execute(statement, params).fetchone()

    def _sql(self, statement: str, params: tuple = ()) -> sqlite3.Cursor:
        """Execute `statement` after the deferred inserts, so it sees (and follows) them."""
        if self._deferred:
            self.flush()
        return self._db.execute(statement, params)

    def close(self) -> None:
        self._db.close()
