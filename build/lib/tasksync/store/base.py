"""The storage interface every backend implements, and the errors storage can raise.

The server runs all protocol rules (tasksync.server.service) against these primitives
inside one `transaction()`; a backend only stores and fetches.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import msgspec

from tasksync.models import ChangeEvent, Conflict, ItemResult, Task


class StorageError(Exception):
    """Storage failed; the write did not happen. Clients may retry."""


class StorageConflict(StorageError):
    """Another writer (another server replica) wrote the same key or lock first; the work
    did not happen, and running it again will see the other's write."""


class StorageTimeout(StorageError):
    """Storage did not answer in time; the write may or may not have happened."""


class AppliedChange(msgspec.Struct, frozen=True):
    """A batch item applied once: its result, and a fingerprint of the item itself, so the
    same change id sent again with another change is told apart from a retry."""

    result: ItemResult
    fingerprint: str = ""  # "" for records stored before fingerprints: taken as a retry


def change_key(client_id: str, repository: str, change_id: str) -> str:
    """Where a change id is unique: per client and repository (PROTOCOL.md)."""
    return f"{client_id}\x1f{repository}\x1f{change_id}"


@dataclass(frozen=True, slots=True)
class StoredReply:
    """A response kept under an idempotency key, replayed byte for byte on retry."""

    fingerprint: str
    status: int
    body: bytes


class TaskStore(Protocol):
    """Primitives over tasks, the change log, applied changes and idempotency records."""

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction: everything inside commits together or not at all."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """Inside transaction(): a nested part rolled back alone when it raises."""
        ...

    def flush(self) -> None:
        """Write any inserts the backend deferred within the transaction (may raise what
        those inserts would have raised)."""
        ...

    def ping(self) -> None:
        """Raise StorageError when storage cannot serve a query."""
        ...

    def get_task(self, task_id: str) -> Task | None: ...

    def insert_task(self, task: Task) -> None: ...

    def replace_task(self, task: Task) -> None: ...

    def list_tasks(
        self, repository: str, after_position: int, limit: int, include_deleted: bool
    ) -> tuple[list[Task], int | None]:
        """A page of tasks in creation order and the position to continue from (None: done)."""
        ...

    def append_event(self, event_type: str, task: Task, timestamp: str) -> ChangeEvent:
        """Append one event to the task's repository log, assigning the next seq."""
        ...

    def changes(self, repository: str, after: int, limit: int) -> list[ChangeEvent]: ...

    def log_bounds(self, repository: str) -> tuple[int, int]:
        """(earliest seq still in the log, last seq); (0, 0) for an empty repository."""
        ...

    def snapshot_at(self, task_id: str, version: int) -> Task | None:
        """The task as it was at `version`, from the change log, if still there."""
        ...

    def written_by_others_since(self, task_id: str, version: int, origin: str) -> bool:
        """True when a version after `version` of the task was written by another origin."""
        ...

    def latest_version_by(self, task_id: str, origin: str, after_version: int) -> int | None:
        """The newest version after `after_version` that `origin` wrote, if the log has one."""
        ...

    def applied_change(self, key: str) -> AppliedChange | None:
        """The change applied under `key` (see `change_key`), if any."""
        ...

    def record_change(self, key: str, change: AppliedChange) -> None:
        """Store an applied change under `key`, in the write's transaction."""
        ...

    def save_conflict(self, conflict: Conflict) -> int:
        """Store a conflict and return its id."""
        ...

    def conflicts(self, repository: str, after_id: int, limit: int) -> list[Conflict]: ...

    def stored_reply(self, key: str) -> StoredReply | None: ...

    def save_reply(self, key: str, reply: StoredReply) -> None: ...

    def close(self) -> None: ...
