"""The replica's SQLite file: its tables, how it is opened, and its transactions."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from tasksync.replica.errors import ClientIdMismatch, NotAReplicaFile, ReplicaError
from tasksync.sqlite_owner import REPLICA, ForeignDatabase, claim, connect_owned

R = TypeVar("R")

SCHEMA_VERSION = 1

# Field sets (`base`, `server`, outbox `task`) are msgspec JSON: they are read and written
# whole, never queried by column.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The local view of each task (rowid order = the order this replica first saw them). `version` is the server version the view is based on (0:
-- never acknowledged) and `base` the editable fields at that version (what a merge compares
-- against); `server` is the newest server task seen, which may be newer than the view while
-- local changes are pending or a manual conflict is open.
CREATE TABLE IF NOT EXISTS tasks (
    repository TEXT NOT NULL,
    id         TEXT NOT NULL,
    content    TEXT NOT NULL,
    status     TEXT NOT NULL,
    priority   TEXT NOT NULL,
    deleted    INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    base       BLOB,
    server     BLOB,
    server_version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    origin     TEXT NOT NULL,
    PRIMARY KEY (repository, id)
);

-- One row per local change, pushed in `seq` order.
CREATE TABLE IF NOT EXISTS outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id    TEXT NOT NULL UNIQUE,
    repository   TEXT NOT NULL,
    task_id      TEXT NOT NULL,
    task         BLOB NOT NULL,
    base_version INTEGER NOT NULL,
    base         BLOB,
    updated_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_task ON outbox (repository, task_id);

CREATE TABLE IF NOT EXISTS conflicts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    conflict_id       INTEGER,
    repository        TEXT NOT NULL,
    task_id           TEXT NOT NULL,
    change_id         TEXT NOT NULL,
    strategy          TEXT NOT NULL,
    winner            TEXT NOT NULL,
    base_version      INTEGER NOT NULL,
    server            BLOB,
    client            BLOB NOT NULL,
    client_updated_at TEXT NOT NULL,
    resolved          BLOB,
    fields            BLOB NOT NULL,
    recorded_at       TEXT NOT NULL,
    resolution        TEXT
);
CREATE INDEX IF NOT EXISTS conflicts_by_task ON conflicts (repository, task_id);
"""


def open_replica_db(path: str | Path) -> sqlite3.Connection:
    """A connection to the replica file at `path`, created with its tables if new."""
    path = Path(path).expanduser()
    try:
        claim(path, REPLICA, "give --replica (or TASKSYNC_REPLICA) a replica file of its own")
    except ForeignDatabase as exc:
        raise NotAReplicaFile(str(exc)) from None
    try:
        # timeout: a CLI command and a running `tasksync watch` may share the file
        db = connect_owned(path, REPLICA, SCHEMA, timeout=10.0)
    except (OSError, sqlite3.Error) as exc:
        raise ReplicaError(f"cannot open the replica file {path}: "
                           f"{getattr(exc, 'strerror', None) or exc}; check that its folder "
                           "exists or can be made, and is writable") from None
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == 0:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    elif version != SCHEMA_VERSION:
        db.close()
        raise ReplicaError(
            f"replica file {path} has schema version {version}; this tasksync reads"
            f" {SCHEMA_VERSION}"
        )
    return db


class ReplicaFile:
    """The replica file at `path`, owned by one client id (generated once and stored).

    One connection, shared under a lock by the event loop's thread and the worker thread
    that applies server replies; every write is one `_transaction`.
    """

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

    def _records(
        self, sql: str, params: tuple[Any, ...], record: Callable[[tuple], R]
    ) -> list[R]:
        """`record` of every row `sql` selects, read under the lock."""
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [record(row) for row in rows]

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
