"""The values a replica hands to its callers: local tasks, queued changes, conflicts, reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasksync.models import SyncItem, SyncTaskFields, Task


@dataclass(frozen=True, slots=True)
class LocalTask:
    """A task as this replica shows it, with the server version that view is based on.

    `version` is 0 until the server has acknowledged the task; `unsynced` counts the local
    changes of this task still waiting in the outbox.
    """

    id: str
    repository: str
    content: str
    status: str
    priority: str
    deleted: bool
    version: int
    updated_at: str
    origin: str = ""
    unsynced: int = 0
    in_conflict: bool = False

    @property
    def fields(self) -> SyncTaskFields:
        return SyncTaskFields(
            content=self.content, status=self.status, priority=self.priority,  # type: ignore[arg-type]
            deleted=self.deleted,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "repository": self.repository, "content": self.content,
            "status": self.status, "priority": self.priority, "deleted": self.deleted,
            "version": self.version, "updated_at": self.updated_at, "origin": self.origin,
            "unsynced": self.unsynced, "in_conflict": self.in_conflict,
        }


@dataclass(frozen=True, slots=True)
class PendingChange:
    """One outbox row: a local change not yet acknowledged by the server.

    `seq` orders the outbox (oldest first); `change_id` is what the server dedupes on.
    """

    seq: int
    change_id: str
    repository: str
    task_id: str
    task: SyncTaskFields
    base_version: int
    base: SyncTaskFields | None
    updated_at: str

    def as_item(self) -> SyncItem:
        return SyncItem(
            change_id=self.change_id, task_id=self.task_id, task=self.task,
            base_version=self.base_version, updated_at=self.updated_at, base=self.base,
        )


@dataclass(frozen=True, slots=True)
class ConflictRecord:
    """A conflict the server reported, as the replica keeps it.

    `conflict_id` is the server's id (None when the server replayed the change without
    reporting the conflict again and the replica rebuilt it from the item result).
    `resolution` is "local" or "server" once the user resolved a manual conflict.
    """

    id: int
    conflict_id: int | None
    repository: str
    task_id: str
    change_id: str
    strategy: str
    winner: str
    base_version: int
    server: Task | None
    client: SyncTaskFields
    client_updated_at: str
    resolved: Task | None
    fields: list[str]
    recorded_at: str
    resolution: str | None = None

    @property
    def unresolved(self) -> bool:
        """True for a manual conflict nobody has decided yet (both sides are kept)."""
        return self.winner == "none" and self.resolution is None


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one sync did: changes pushed and acknowledged, events pulled, conflicts met.

    `pulled` counts events received, `applied` those that changed a local task; `pending`
    is what is left in the outbox; `rejected` lists tasks whose id belongs to another
    repository on the server; `resynced` says the full state was fetched (pruned log);
    `gap` is why: (the cursor, the first seq pulled past it).
    """

    pushed: int
    pulled: int
    applied: int
    conflicts: list[ConflictRecord]
    round_trips: int
    duration_s: float
    cursor: int
    pending: int = 0
    strategy: str = "server_wins"
    replayed: int = 0
    rejected: list[str] = field(default_factory=list)
    resynced: bool = False
    gap: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class WatchReport:
    """What one watch did: events received, local tasks they changed, the cursor after.

    `behind` > 0 means an event went missing on the way (the newest seq seen is past the
    cursor, which stops before the hole): the next sync fetches it.
    """

    received: int
    applied: int
    cursor: int
    duration_s: float
    resyncs: int = 0
    behind: int = 0
