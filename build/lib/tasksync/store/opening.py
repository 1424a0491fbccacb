"""Which store a server runs on, from its `--store` value, and a line saying so."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tasksync.store.base import TaskStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
QDRANT = "qdrant"  # local mode beside --db, or the server QDRANT_URL names
QDRANT_SCHEMES = ("qdrant+http://", "qdrant+https://")
QDRANT_URL_ENV = "QDRANT_URL"
QDRANT_PREFIX_ENV = "TASKSYNC_QDRANT_PREFIX"  # collection name prefix (default "tasksync_")


def is_postgres(store: str) -> bool:
    return store.startswith(POSTGRES_SCHEMES)


def is_qdrant(store: str) -> bool:
    return store == QDRANT or store.startswith(QDRANT_SCHEMES)


def is_store(store: str) -> bool:
    return store == "sqlite" or is_postgres(store) or is_qdrant(store)


@dataclass(frozen=True)
class QdrantTarget:
    """The Qdrant a store value uses: a server at `url`, or local mode in the folder `path`."""

    url: str | None = None
    path: Path | None = None

    def describe(self) -> str:
        if self.url is not None:
            return f"qdrant server at {_without_secrets(self.url)}"
        return f"qdrant local mode at {self.path}"


def qdrant_target(store: str, db_path: Path) -> QdrantTarget:
    """"qdrant+http(s)://..." names a server; "qdrant" the server $QDRANT_URL names, else
    local mode in the folder `<db_path>.qdrant` (beside the SQLite file it replaces)."""
    if store.startswith(QDRANT_SCHEMES):
        return QdrantTarget(url=store.removeprefix("qdrant+"))
    url = os.environ.get(QDRANT_URL_ENV)
    if url:
        return QdrantTarget(url=url)
    return QdrantTarget(path=db_path.with_name(db_path.name + ".qdrant"))


def describe_store(store: str, db_path: Path) -> str:
    """One line naming where `store` keeps tasks (no password or key in it)."""
    if is_qdrant(store):
        return qdrant_target(store, db_path).describe()
    if is_postgres(store):
        return f"postgresql database at {_without_secrets(store)}"
    return f"sqlite file at {db_path}"


def open_store(store: str, db_path: Path, log_retention: int | None,
               call_timeout: float, start_wait: float = 0.0) -> TaskStore:
    """The store `store` names: "sqlite" (the file at `db_path`), a PostgreSQL URL or a
    Qdrant (see qdrant_target); a database server is waited for up to `start_wait` seconds."""
    if is_postgres(store):
        from tasksync.store.postgres import PostgresStore  # psycopg only when asked for

        return PostgresStore(store, log_retention=log_retention, call_timeout=call_timeout,
                             start_wait=start_wait)
    if is_qdrant(store):
        from tasksync.store.qdrant import QdrantStore  # qdrant_client only when asked for

        return QdrantStore(qdrant_target(store, db_path), log_retention=log_retention,
                           call_timeout=call_timeout, start_wait=start_wait,
                           prefix=os.environ.get(QDRANT_PREFIX_ENV) or "tasksync_")
    from tasksync.store.sqlite import SQLiteStore

    return SQLiteStore(db_path, log_retention=log_retention)


def _without_secrets(url: str) -> str:
    """`url` as scheme://host:port/path: no user, password or query (which may hold keys)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    return f"{parts.scheme}://{parts.hostname or 'localhost'}{port}{parts.path}"
