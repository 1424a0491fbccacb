"""The outbox (local changes the server has not acknowledged) and the cursor (how far the
server's change log has been applied), per repository."""

from __future__ import annotations

import sqlite3

from tasksync.models import SyncTaskFields
from tasksync.replica.records import PendingChange
from tasksync.replica.rows import OUTBOX_COLUMNS, encode, pending_record
from tasksync.replica.schema import ReplicaFile

_LAST_SEQ = 2**63 - 1


class Outbox(ReplicaFile):
    """What a sync reads before it sends: the queued changes and the cursor."""

    def pending_changes(
        self,
        repository: str,
        limit: int | None = None,
        *,
        after_seq: int = 0,
        up_to_seq: int | None = None,
    ) -> list[PendingChange]:
        """The outbox of `repository`, oldest change first, optionally a window of it."""
        return self._records(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE repository = ? AND seq > ?"
            " AND seq <= ? ORDER BY seq LIMIT ?",
            (repository, after_seq, _LAST_SEQ if up_to_seq is None else up_to_seq,
             -1 if limit is None else limit),
            pending_record,
        )

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
            return read_cursor(self._db, repository)

    def remove_changes(self, change_ids: list[str]) -> None:
        """Take these changes out of the outbox (only the seeded bug
        "outbox_clear_before_reply" does this outside a settling reply)."""
        with self._transaction() as db:
            db.executemany("DELETE FROM outbox WHERE change_id = ?",
                           [(change_id,) for change_id in change_ids])


def queue_change(
    db: sqlite3.Connection,
    client_id: str,
    repository: str,
    task_id: str,
    fields: SyncTaskFields,
    base_version: int,
    base: SyncTaskFields | None,
    updated_at: str,
) -> str:
    """Append a change to the outbox; its change id (`client_id:n`, n counting up)."""
    counter = db.execute("SELECT value FROM meta WHERE key = 'change_counter'").fetchone()
    number = int(counter[0]) + 1 if counter else 1
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('change_counter', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(number),),
    )
    change_id = f"{client_id}:{number}"
    db.execute(
        "INSERT INTO outbox (change_id, repository, task_id, task, base_version, base,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (change_id, repository, task_id, encode(fields), base_version,
         encode(base) if base is not None else None, updated_at),
    )
    return change_id


def read_cursor(db: sqlite3.Connection, repository: str) -> int:
    """The seq of the last server event applied for `repository` (0: none yet)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (f"cursor:{repository}",)).fetchone()
    return int(row[0]) if row else 0


def advance_cursor(db: sqlite3.Connection, repository: str, cursor: int) -> None:
    """Move the cursor to `cursor`, never back."""
    # Only forward: a sync and a watch may apply overlapping stretches of the log.
    if cursor > read_cursor(db, repository):
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (f"cursor:{repository}", str(cursor)),
        )
