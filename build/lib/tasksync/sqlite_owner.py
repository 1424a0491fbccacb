"""Whose SQLite file it is. The server and the replica stamp their own application id in the
file's header (PRAGMA application_id) and refuse, without touching it, a file that holds
another application's data: `tasksync --replica` on a copy of the server's database, or
`tasksync serve --db` on someone else's file, must not write tables into it.

    claim(path, REPLICA, "replica file", hint)   # before connecting: ForeignDatabase if not ours
    stamp(db, REPLICA)                           # once connected (before WAL): the header says so
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

HEADER = b"SQLite format 3\x00"
HEADER_BYTES = 100
APPLICATION_ID_AT = 68  # big-endian 32-bit, in the 100-byte database header


@dataclass(frozen=True)
class Owner:
    """One application's stamp, and the tables a file of it made before stamps existed."""

    application_id: int
    name: str
    tables: frozenset[str]


REPLICA = Owner(0x54535250, "tasksync replica",  # "TSRP"
                frozenset({"meta", "tasks", "outbox", "conflicts", "sqlite_sequence"}))
SERVER = Owner(0x54535356, "tasksync server",  # "TSSV"
               frozenset({"tasks", "repositories", "changes", "applied_changes", "conflicts",
                          "idempotency", "sqlite_sequence"}))
KNOWN = (REPLICA, SERVER)


class ForeignDatabase(ValueError):
    """The file is not ours: str() names it, what it is, and what to do."""


def claim(path: Path, owner: Owner, hint: str) -> None:
    """Return when `path` is ours to open: missing, empty, stamped by `owner`, or an unstamped
    file holding only `owner`'s tables (made before stamps). Else ForeignDatabase; the file is
    only read."""
    try:
        with path.open("rb") as file:
            header = file.read(HEADER_BYTES)
    except OSError:  # missing (ours to make) or unreadable: opening it says which
        return
    if not header:
        return
    if not header.startswith(HEADER) or len(header) < HEADER_BYTES:
        raise ForeignDatabase(f"{path} is not a SQLite database, so not a {owner.name} file; "
                              f"left untouched; {hint}")
    stamped = int.from_bytes(header[APPLICATION_ID_AT:APPLICATION_ID_AT + 4], "big")
    if stamped == owner.application_id:
        return
    if stamped:
        other = next((known.name for known in KNOWN if known.application_id == stamped),
                     f"application id {stamped:#010x}")
        raise ForeignDatabase(f"{path} belongs to {other}, not a {owner.name}; left "
                              f"untouched; {hint}")
    foreign = sorted(_tables(path) - owner.tables)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise ForeignDatabase(f"{path} holds tables a {owner.name} does not make ({shown}); "
                              f"left untouched; {hint}")


def stamp(db: sqlite3.Connection, owner: Owner) -> None:
    """Write `owner`'s id into the header of the file `db` is connected to, if unstamped."""
    if db.execute("PRAGMA application_id").fetchone()[0] != owner.application_id:
        db.execute(f"PRAGMA application_id = {owner.application_id:d}")


def connect_owned(path: Path, owner: Owner, schema: str, pragmas: tuple[str, ...] = (),
                  timeout: float = 5.0) -> sqlite3.Connection:
    """A connection to `path` (its folder made), stamped as `owner`'s, in WAL mode with
    synchronous=NORMAL (a committed change survives a crash of the process), `pragmas`
    run and `schema` created. Autocommit (isolation_level=None: transactions are the
    BEGIN/COMMIT the caller issues) and usable from another thread (check_same_thread=False:
    the caller hands it to the thread that does its I/O, under its own lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    try:
        stamp(db, owner)  # a new file's header, before WAL: another tool can tell whose it is
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        for pragma in pragmas:
            db.execute(f"PRAGMA {pragma}")
        db.executescript(schema)
    except BaseException:
        db.close()
        raise
    return db


def _tables(path: Path) -> set[str]:
    # immutable: no lock, no -wal or -shm file made; the file is only read
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        db = sqlite3.connect(uri, uri=True)
        try:
            return {row[0] for row in db.execute("SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'")}
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise ForeignDatabase(f"{path} could not be read as SQLite ({exc}); left "
                              "untouched") from None


__all__ = ["REPLICA", "SERVER", "ForeignDatabase", "Owner", "claim", "connect_owned", "stamp"]
