"""Storage behind one interface: SQLite (the embedded default)."""

from tasksync.store.base import StorageError, StorageTimeout, StoredReply, TaskStore
from tasksync.store.sqlite import SQLiteStore

__all__ = ["SQLiteStore", "StorageError", "StorageTimeout", "StoredReply", "TaskStore"]
