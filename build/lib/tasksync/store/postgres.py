"""PostgreSQL storage behind TaskStore, shared by any number of server replicas.

The server calls it from its storage thread, as it does SQLite; connections come from a
psycopg pool (reopened after a database link fails). What one file's single writer got for
free, several replicas on one database get from row locks:

- **seq**: the first event a transaction appends to a repository locks that repository's
  row (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`) until COMMIT, so writers of one
  repository commit in seq order, with no gap (a rolled-back transaction gives its seqs back).
- **read-modify-write**: a task read inside a transaction is read `FOR UPDATE`, so two
  replicas updating one task take turns and the second sees the first's version.
- **first writer wins**: two replicas creating one id, or applying one change id or
  idempotency key at once: the second insert violates the key and raises StorageConflict;
  the server runs that request again and finds the first one's row (a replay, not a dup).

Every commit that appended events sends `pg_notify(CHANNEL, {"r": repository, "s": seq})`
per repository, delivered to listeners at commit and in commit order (tasksync.server.
change_feed turns those into WebSocket events; payloads carry the seq, not the events).

Free text (content, client ids, change ids) may hold NUL, which PostgreSQL's text cannot:
tasks, origins and keys are stored as bytea. A call blocked on a link that answers nothing
(a blackholed proxy) is broken off after `call_timeout` by shutting its socket down.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from tasksync.models import ChangeEvent, Conflict, Task
from tasksync.store.base import AppliedChange, StorageConflict, StorageError, StoredReply
from tasksync.store.deferred import DeferredInserts
from tasksync.store.watchdog import Watchdog

SCHEMA_VERSION = 1
CHANNEL = "tasksync_changes"
SCHEMA = """
CREATE TABLE IF NOT EXISTS tasksync_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    position   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    repository TEXT NOT NULL,
    deleted    BOOLEAN NOT NULL,
    task       BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_repository ON tasks (repository, position);
CREATE TABLE IF NOT EXISTS repositories (
    name         TEXT PRIMARY KEY,
    last_seq     BIGINT NOT NULL,
    earliest_seq BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    repository TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    type       TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    origin     BYTEA NOT NULL,
    timestamp  TEXT NOT NULL,
    task       BYTEA NOT NULL,
    PRIMARY KEY (repository, seq)
);
CREATE INDEX IF NOT EXISTS changes_by_task ON changes (task_id, version);
CREATE TABLE IF NOT EXISTS applied_changes (
    change_key BYTEA PRIMARY KEY,
    result     BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS conflicts (
    conflict_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repository  TEXT NOT NULL,
    body        BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS conflicts_by_repository ON conflicts (repository, conflict_id);
CREATE TABLE IF NOT EXISTS idempotency (
    key         BYTEA PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        BYTEA NOT NULL
);
"""
# Replicas starting together create the schema one at a time.
_SCHEMA_LOCK = 0x7461736B73796E63  # "tasksync"

_INSERT_TASK = "INSERT INTO tasks (id, repository, deleted, task) VALUES (%s, %s, %s, %s)"
_INSERT_CHANGE = ("INSERT INTO changes (repository, seq, type, task_id, version, origin,"
                  " timestamp, task) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")
_INSERT_RESULT = "INSERT INTO applied_changes (change_key, result) VALUES (%s, %s)"
_INSERT_REPLY = "INSERT INTO idempotency (key, fingerprint, status, body) VALUES (%s, %s, %s, %s)"
_LOCK_REPOSITORY = (
    "INSERT INTO repositories (name, last_seq, earliest_seq) VALUES (%s, 0, 0)"
    " ON CONFLICT (name) DO UPDATE SET last_seq = repositories.last_seq"
    " RETURNING earliest_seq, last_seq")
# Another writer got there first: running the work again will see its row.
_CONFLICTS = (pg_errors.UniqueViolation, pg_errors.DeadlockDetected,
              pg_errors.SerializationFailure, pg_errors.LockNotAvailable)
_encode = msgspec.json.encode
_decode_task = msgspec.json.Decoder(Task).decode
_decode_applied = msgspec.json.Decoder(AppliedChange).decode
_decode_conflict = msgspec.json.Decoder(Conflict).decode


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class PostgresStore(DeferredInserts):
    """TaskStore on a PostgreSQL database (`url`: postgresql://user@host:port/db)."""

    def __init__(self, url: str, log_retention: int | None = None, call_timeout: float = 10.0,
                 connect_timeout: float = 5.0, start_wait: float = 0.0) -> None:
        """`start_wait`: how long to wait for the database at start (a server restarted
        while the database is, too, waits for it), at least `connect_timeout`."""
        self.url = url
        self.log_retention = log_retention
        milliseconds = max(1, round(call_timeout * 1000))
        self._pool = ConnectionPool(
            url, min_size=1, max_size=2, open=False, timeout=connect_timeout + 1,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(connect_timeout)),
                    "application_name": "tasksync",
                    # a replica whose link went silent mid-transaction holds its row locks
                    # until PostgreSQL gives up on it; the others wait no longer than a call
                    "options": f"-c idle_in_transaction_session_timeout={milliseconds}"
                               f" -c lock_timeout={milliseconds}"},
            name="tasksync", reconnect_timeout=max(call_timeout, connect_timeout),
        )
        wait = max(connect_timeout, start_wait)
        try:
            self._pool.open(wait=True, timeout=wait + 1)
        except PoolTimeout:
            self._pool.close()
            raise StorageError(f"cannot reach the database at {_safe(url)} within "
                               f"{wait:g} s; check that PostgreSQL runs there and "
                               "the URL's host, port, user and database are right") from None
        self._watchdog = Watchdog(call_timeout)
        self._connection: psycopg.Connection | None = None  # held for one transaction
        self._locked: dict[str, tuple[int, int]] = {}  # repository -> bounds, this transaction
        self._savepoints = 0
        self._forget_deferred()
        try:
            self._create_schema()
        except BaseException:
            self.close()
            raise

    def _create_schema(self) -> None:
        with self.transaction():
            self._sql("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            self._sql(SCHEMA)
            row = self._sql("SELECT max(version) FROM tasksync_schema").fetchone()
            found = row[0] if row else None
            if found is None:
                self._sql("INSERT INTO tasksync_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
            elif found > SCHEMA_VERSION:
                raise StorageError(
                    f"the database at {_safe(self.url)} has tasksync schema version {found}, "
                    f"newer than this server's {SCHEMA_VERSION}; run a newer tasksync on it, "
                    "or give this one a database of its own")

    # -- transactions --------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit everything done inside, or roll all of it back on an exception."""
        connection = self._take()
        self._connection = connection
        self._in_transaction = True
        try:
            self._call(connection, "BEGIN")
            try:
                yield
                self.flush()
                self._save_bounds()
            except BaseException:
                self._rollback(connection)
                raise
            self._call(connection, "COMMIT")
        finally:
            self._in_transaction = False
            self._connection = None
            self._locked.clear()
            self._forget_deferred()
            self._pool.putconn(connection)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: undo only what was done inside on an exception."""
        self.flush()  # inside, statements run at once, so a rollback undoes exactly them
        locked = dict(self._locked)
        self._sql("SAVEPOINT request")
        self._savepoints += 1
        try:
            yield
        except BaseException:
            self._sql("ROLLBACK TO SAVEPOINT request")
            self._sql("RELEASE SAVEPOINT request")
            self._locked = locked  # the seqs appended inside are given back
            raise
        else:
            self._sql("RELEASE SAVEPOINT request")
        finally:
            self._savepoints -= 1

    def _rollback(self, connection: psycopg.Connection) -> None:
        if connection.closed or connection.broken:
            return  # the server rolls back a transaction whose connection is gone
        try:
            self._call(connection, "ROLLBACK")
        except StorageError:
            pass

    def ping(self) -> None:
        self._sql("SELECT 1").fetchone()

    # -- tasks -------------------------------------------------------------------------

    def get_task(self, task_id: str) -> Task | None:
        # In a transaction the row stays locked until COMMIT: read-modify-write is safe
        # against other replicas.
        lock = " FOR UPDATE" if self._in_transaction else ""
        return self._read_through(
            self._deferred_tasks, task_id, f"SELECT task FROM tasks WHERE id = %s{lock}",
            (task_id,), lambda row: _decode_task(row[0]),
        )

    def insert_task(self, task: Task) -> None:
        if self._defer(_INSERT_TASK, (task.id, task.repository, task.deleted, _encode(task))):
            self._deferred_tasks[task.id] = task

    def replace_task(self, task: Task) -> None:
        self._sql("UPDATE tasks SET deleted = %s, task = %s WHERE id = %s",
                  (task.deleted, _encode(task), task.id))

    def list_tasks(
        self, repository: str, after_position: int, limit: int, include_deleted: bool
    ) -> tuple[list[Task], int | None]:
        deleted_clause = "" if include_deleted else " AND NOT deleted"
        rows = self._sql(
            f"SELECT position, task FROM tasks WHERE repository = %s AND position > %s"
            f"{deleted_clause} ORDER BY position LIMIT %s",
            (repository, after_position, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_position = rows[-1][0] if more and rows else None
        return [_decode_task(row[1]) for row in rows], next_position

    # -- change log --------------------------------------------------------------------

    def log_bounds(self, repository: str) -> tuple[int, int]:
        locked = self._locked.get(repository)
        if locked is not None:
            return locked
        row = self._sql("SELECT earliest_seq, last_seq FROM repositories WHERE name = %s",
                        (repository,)).fetchone()
        return (row[0], row[1]) if row else (0, 0)

    def append_event(self, event_type: str, task: Task, timestamp: str) -> ChangeEvent:
        if not self._in_transaction:
            with self.transaction():
                return self.append_event(event_type, task, timestamp)
        repository = task.repository
        bounds = self._locked.get(repository)
        if bounds is None:  # this transaction's first event here: lock the repository's row
            row = self._sql(_LOCK_REPOSITORY, (repository,)).fetchone()
            bounds = (row[0], row[1])
        earliest, last = bounds
        seq, earliest = last + 1, earliest or 1
        event = ChangeEvent(
            repository=repository, seq=seq, type=event_type, task_id=task.id,
            version=task.version, task=task, origin=task.origin, timestamp=timestamp,
        )
        self._defer(_INSERT_CHANGE, (repository, seq, event_type, task.id, task.version,
                                     _bytes(task.origin), timestamp, _encode(task)))
        if self.log_retention is not None and seq - earliest + 1 > self.log_retention:
            earliest = seq - self.log_retention + 1
            self._sql("DELETE FROM changes WHERE repository = %s AND seq < %s",
                      (repository, earliest))
        self._locked[repository] = (earliest, seq)
        return event

    def _save_bounds(self) -> None:
        """Before COMMIT: the new bounds of every repository this transaction appended to,
        and one notification each (sent by PostgreSQL at COMMIT, in commit order)."""
        if not self._locked:
            return
        rows = [(last, earliest, name) for name, (earliest, last) in self._locked.items()]
        self._execute_many(
            "UPDATE repositories SET last_seq = %s, earliest_seq = %s WHERE name = %s", rows)
        self._execute_many("SELECT pg_notify(%s, %s)", [
            (CHANNEL, _encode({"r": name, "s": last}).decode()) for last, _, name in rows])

    def changes(self, repository: str, after: int, limit: int) -> list[ChangeEvent]:
        rows = self._sql(
            "SELECT seq, type, task_id, version, origin, timestamp, task FROM changes"
            " WHERE repository = %s AND seq > %s ORDER BY seq LIMIT %s",
            (repository, after, limit),
        ).fetchall()
        return [
            ChangeEvent(
                repository=repository, seq=row[0], type=row[1], task_id=row[2],
                version=row[3], origin=bytes(row[4]).decode("utf-8", "surrogatepass"),
                timestamp=row[5], task=_decode_task(row[6]),
            )
            for row in rows
        ]

    def repositories(self) -> dict[str, int]:
        """Every repository's last seq (what a change feed catches up to)."""
        return dict(self._sql("SELECT name, last_seq FROM repositories").fetchall())

    def snapshot_at(self, task_id: str, version: int) -> Task | None:
        row = self._sql("SELECT task FROM changes WHERE task_id = %s AND version = %s",
                        (task_id, version)).fetchone()
        return _decode_task(row[0]) if row else None

    def written_by_others_since(self, task_id: str, version: int, origin: str) -> bool:
        row = self._sql("SELECT min(version) FROM changes WHERE task_id = %s",
                        (task_id,)).fetchone()
        earliest_kept = row[0] if row else None
        if earliest_kept is None or earliest_kept > version + 1:
            return True  # the log no longer shows who wrote those versions: assume others did
        row = self._sql(
            "SELECT 1 FROM changes WHERE task_id = %s AND version > %s AND origin != %s LIMIT 1",
            (task_id, version, _bytes(origin)),
        ).fetchone()
        return row is not None

    def latest_version_by(self, task_id: str, origin: str, after_version: int) -> int | None:
        row = self._sql(
            "SELECT max(version) FROM changes WHERE task_id = %s AND origin = %s AND version > %s",
            (task_id, _bytes(origin), after_version),
        ).fetchone()
        return row[0] if row else None

    # -- applied changes, conflicts, idempotency ---------------------------------------

    def applied_change(self, key: str) -> AppliedChange | None:
        return self._read_through(
            self._deferred_results, key, "SELECT result FROM applied_changes WHERE change_key = %s",
            (_bytes(key),), lambda row: _decode_applied(row[0]),
        )

    def record_change(self, key: str, change: AppliedChange) -> None:
        if self._defer(_INSERT_RESULT, (_bytes(key), _encode(change))):
            self._deferred_results[key] = change

    def save_conflict(self, conflict: Conflict) -> int:
        row = self._sql("INSERT INTO conflicts (repository, body) VALUES (%s, '')"
                        " RETURNING conflict_id", (conflict.repository,)).fetchone()
        conflict_id = int(row[0])
        conflict.conflict_id = conflict_id
        self._sql("UPDATE conflicts SET body = %s WHERE conflict_id = %s",
                  (_encode(conflict), conflict_id))
        return conflict_id

    def conflicts(self, repository: str, after_id: int, limit: int) -> list[Conflict]:
        rows = self._sql(
            "SELECT body FROM conflicts WHERE repository = %s AND conflict_id > %s"
            " ORDER BY conflict_id LIMIT %s", (repository, after_id, limit),
        ).fetchall()
        return [_decode_conflict(row[0]) for row in rows]

    def stored_reply(self, key: str) -> StoredReply | None:
        return self._read_through(
            self._deferred_replies, key,
            "SELECT fingerprint, status, body FROM idempotency WHERE key = %s", (_bytes(key),),
            lambda row: StoredReply(fingerprint=row[0], status=row[1], body=bytes(row[2])),
        )

    def save_reply(self, key: str, reply: StoredReply) -> None:
        if self._defer(_INSERT_REPLY, (_bytes(key), reply.fingerprint, reply.status, reply.body)):
            self._deferred_replies[key] = reply

    # -- executing -----------------------------------------------------------------------

    def _take(self) -> psycopg.Connection:
        try:
            return self._pool.getconn()
        except PoolTimeout:
            raise StorageError(f"no connection to the database at {_safe(self.url)}") from None

    def _call(self, connection: psycopg.Connection, statement: str, params: tuple = (),
              many: list[tuple] | None = None) -> psycopg.Cursor[Any]:
        """Run one statement on `connection`, storage errors as StorageError."""
        try:
            with self._watchdog.watching(connection):
                if many is not None:
                    cursor = connection.cursor()
                    cursor.executemany(statement, many)
                    return cursor
                return connection.execute(statement, params or None)
        except _CONFLICTS as exc:
            raise StorageConflict(f"another writer got there first ({exc.sqlstate}: "
                                  f"{_first_line(exc)})") from exc
        except psycopg.OperationalError as exc:
            raise StorageError(f"database link failed: {_first_line(exc)}") from exc
        except psycopg.Error as exc:
            raise StorageError(f"database error ({exc.sqlstate}): {_first_line(exc)}") from exc

    def _run_alone(self, statement: str, params: tuple = (),
                   many: list[tuple] | None = None) -> psycopg.Cursor[Any]:
        if self._connection is not None:
            return self._call(self._connection, statement, params, many)
        connection = self._take()
        try:
            cursor = self._call(connection, statement, params, many)
            # rows are read now: the connection goes back to the pool
            rows = cursor.fetchall() if cursor.description else []
            return _Rows(rows)  # type: ignore[return-value]
        finally:
            self._pool.putconn(connection)

    def _execute(self, statement: str, row: tuple) -> Any:
        return self._run_alone(statement, row)

    def _execute_many(self, statement: str, rows: list[tuple]) -> None:
        self._run_alone(statement, many=rows)

    def _fetch_one(self, statement: str, params: tuple) -> tuple | None:
        return self._run_alone(statement, params).fetchone()

    def _sql(self, statement: str, params: tuple = ()) -> Any:
        """Execute `statement` after the deferred inserts, so it sees (and follows) them."""
        if self._deferred:
            self.flush()
        return self._run_alone(statement, params)

    def close(self) -> None:
        self._watchdog.close()
        self._pool.close()


class _Rows:
    """A result read in full (its connection went back to the pool), cursor-shaped."""

    def __init__(self, rows: list[tuple]) -> None:
        self._rows = rows

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple]:
        return self._rows


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _safe(url: str) -> str:
    """`url` without its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an unreadable URL)"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


__all__ = ["CHANNEL", "SCHEMA_VERSION", "PostgresStore"]
