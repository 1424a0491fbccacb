"""tasksync.replica: an offline-first local replica (SQLite) that syncs both ways.

    replica = Replica("~/.tasksync/replica.db", server_url="http://127.0.0.1:8700")
    task = replica.add("write the report")      # works offline, queued in the outbox
    report = await replica.sync("merge")        # push the outbox, pull the others' changes
"""

from tasksync.replica.errors import (
    AmbiguousTaskId,
    ClientIdMismatch,
    InvalidTask,
    NoConflict,
    NoServerConfigured,
    NotAReplicaFile,
    ReplicaError,
    ServerUnreachable,
    SyncError,
    TaskDeleted,
    TaskExists,
    TaskNotFound,
)
from tasksync.replica.records import (
    ConflictRecord,
    LocalTask,
    PendingChange,
    SyncReport,
    WatchReport,
)
from tasksync.replica.replica import Replica

__all__ = [
    "AmbiguousTaskId",
    "ClientIdMismatch",
    "ConflictRecord",
    "InvalidTask",
    "LocalTask",
    "NoConflict",
    "NoServerConfigured",
    "NotAReplicaFile",
    "PendingChange",
    "Replica",
    "ReplicaError",
    "ServerUnreachable",
    "SyncError",
    "SyncReport",
    "TaskDeleted",
    "TaskExists",
    "TaskNotFound",
    "WatchReport",
]
