"""Which store a server runs on, from its `--store` value."""

from __future__ import annotations

from pathlib import Path

from tasksync.store.base import TaskStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(store: str) -> bool:
    return store.startswith(POSTGRES_SCHEMES)


def is_store(store: str) -> bool:
    return store == "sqlite" or is_postgres(store)


def open_store(store: str, db_path: Path, log_retention: int | None,
               call_timeout: float, start_wait: float = 0.0) -> TaskStore:
    """The store `store` names: "sqlite" (the file at `db_path`) or a PostgreSQL URL
    (waited for up to `start_wait` seconds)."""
    if is_postgres(store):
        from tasksync.store.postgres import PostgresStore  # psycopg only when asked for

        return PostgresStore(store, log_retention=log_retention, call_timeout=call_timeout,
                             start_wait=start_wait)
    from tasksync.store.sqlite import SQLiteStore

    return SQLiteStore(db_path, log_retention=log_retention)
