"""The wire types of the tasksync protocol, shared by server, clients and replica.

Every type here is a msgspec Struct: it validates on decode, names the offending field on
error, and gives the JSON Schema that /openapi.json publishes. The HTTP bodies come first,
then the WebSocket messages (tagged by their `type` field), then the id and name patterns
every side checks. The protocol itself is described in lib/tasksync/PROTOCOL.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Status = Literal["pending", "in_progress", "completed", "cancelled"]
Priority = Literal["low", "medium", "high"]
Strategy = Literal["server_wins", "client_wins", "last_write_wins", "merge", "manual"]
Outcome = Literal["created", "updated", "deleted", "unchanged", "conflict", "rejected"]
EventType = Literal["task_created", "task_updated", "task_deleted"]

STATUSES: tuple[str, ...] = ("pending", "in_progress", "completed", "cancelled")
PRIORITIES: tuple[str, ...] = ("low", "medium", "high")
STRATEGIES: tuple[str, ...] = ("server_wins", "client_wins", "last_write_wins", "merge", "manual")

MAX_CONTENT_CHARS = 65_536
MAX_REPOSITORY_CHARS = 100
MAX_ID_CHARS = 128
MAX_CLIENT_ID_CHARS = 200
MAX_BATCH_ITEMS = 20_000

# The one definition of a valid repository name and task id: the Structs below, the
# OpenAPI parameters, the server's query checks and the replica's local checks use these.
# `(?!\n)$`: Python's `$` also matches before a final newline ("repo\n"); JSON Schema's
# does not; with the look-ahead both refuse it.
REPOSITORY_PATTERN = r"^[A-Za-z0-9._-]+(?!\n)$"
TASK_ID_PATTERN = r"^[A-Za-z0-9._:-]+(?!\n)$"

RepositoryName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_REPOSITORY_CHARS, pattern=REPOSITORY_PATTERN)
]
TaskId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS, pattern=TASK_ID_PATTERN)
]
# Who is calling (X-Client-ID, a batch's client_id): any text, bounded.
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CLIENT_ID_CHARS)]
Content = Annotated[str, msgspec.Meta(max_length=MAX_CONTENT_CHARS)]
# What a client may send as its own clock: RFC 3339 with a zone, or "" for none. An
# unparseable time is refused (422 naming the field) rather than read as "oldest". The
# pattern holds only dates that exist (no year 0000, no April 31, Feb 29 in leap years) and
# offsets under a day, so that what the published schema calls valid the server accepts.
_YEAR = r"(?!0000)[0-9]{4}"
_MONTH_DAY = (r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
              r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_LEAP_DAY = (r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])"
             r"|(?:0[48]|[2468][048]|[13579][26])00)-02-29")
_TIME = (r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
         r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])")
RFC3339_PATTERN = rf"^(?!\n)$|^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})[T ]{_TIME}(?!\n)$"
Timestamp = Annotated[str, msgspec.Meta(max_length=64, pattern=RFC3339_PATTERN)]
ChangeId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# Bounded so that every accepted value fits a SQLite INTEGER (as the HTTP query params are).
MAX_SEQ = 2**62
Version = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]

# The fields a client may edit; everything else on a task is server-assigned.
EDITABLE_FIELDS: tuple[str, ...] = ("content", "status", "priority", "deleted")


class Task(msgspec.Struct, kw_only=True):
    """A task as the server stores it (a tombstone when deleted)."""

    id: str
    repository: str
    content: str
    status: str = "pending"
    priority: str = "medium"
    version: int = 1
    created_at: str = ""
    updated_at: str = ""
    deleted: bool = False
    origin: str = ""


class TaskCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of POST /api/v1/tasks."""

    repository: RepositoryName
    content: Content
    id: TaskId | None = None
    status: Status = "pending"
    priority: Priority = "medium"


class TaskUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of PATCH /api/v1/tasks/{id}: only the fields given change."""

    content: Content | None = None
    status: Status | None = None
    priority: Priority | None = None


class TaskPage(msgspec.Struct, kw_only=True):
    """A page of GET /api/v1/tasks; pass `next` as `page_token` for the following page."""

    tasks: list[Task]
    next: str | None = None


class ChangeEvent(msgspec.Struct, kw_only=True):
    """One entry of a repository's change log (also what WebSocket subscribers receive)."""

    repository: str
    seq: int
    type: str
    task_id: str
    version: int
    task: Task
    origin: str
    timestamp: str


class ChangePage(msgspec.Struct, kw_only=True):
    """Reply of GET /api/v1/repositories/{repo}/changes."""

    repository: str
    events: list[ChangeEvent]
    last_seq: int
    earliest_seq: int
    has_more: bool = False


class SyncTaskFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The client's side of a task in a batch item."""

    content: Content
    status: Status = "pending"
    priority: Priority = "medium"
    deleted: bool = False


class SyncItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One local change pushed by a client.

    base_version is the server version the edit started from (0 for a new task);
    base carries the fields the edit started from, when the client has them (used by
    `merge`, and to replay queued edits onto the client's own earlier write);
    updated_at is the client's own clock (used by `last_write_wins`).
    """

    change_id: ChangeId
    task_id: TaskId
    task: SyncTaskFields
    base_version: Version = 0
    updated_at: Timestamp = ""
    base: SyncTaskFields | None = None


class SyncRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of POST /api/v1/sync/batch."""

    repository: RepositoryName
    client_id: ClientId
    items: Annotated[list[SyncItem], msgspec.Meta(max_length=MAX_BATCH_ITEMS)] = []
    cursor: Seq = 0
    strategy: Strategy = "server_wins"
    pull_limit: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 10_000


class ItemResult(msgspec.Struct, kw_only=True):
    """What happened to one batch item; `replayed` when its change_id was applied before.

    `task` is always the item's own task in the batch's repository (None when there is
    none to show); `reason` says why an item was `rejected`.
    """

    change_id: str
    task_id: str
    outcome: str
    task: Task | None
    replayed: bool = False
    reason: str = ""


class Conflict(msgspec.Struct, kw_only=True):
    """A conflict, reported once, with both sides preserved."""

    conflict_id: int
    task_id: str
    repository: str
    change_id: str
    strategy: str
    winner: str  # "server" | "client" | "merged" | "none" (manual: nobody won yet)
    base_version: int
    server: Task | None
    client: SyncTaskFields
    client_updated_at: str
    resolved: Task | None
    fields: list[str] = []
    # What the client's edit started from, as resolution saw it (the item's `base`, else
    # the change log's snapshot at the version it built on); None when neither existed,
    # which is when `merge` falls back to the server's side.
    base: SyncTaskFields | None = None


class SyncResponse(msgspec.Struct, kw_only=True):
    """Reply of POST /api/v1/sync/batch."""

    repository: str
    results: list[ItemResult]
    conflicts: list[Conflict]
    changes: list[ChangeEvent]
    cursor: int
    has_more: bool = False


class ErrorBody(msgspec.Struct, kw_only=True):
    """Every non-2xx reply: a machine-readable code, a message that says what to do."""

    error: str
    message: str
    field: str | None = None
    current: Task | None = None


# -- WebSocket /ws: text frames, JSON objects tagged by "type" ------------------------------
# Field order is the order on the wire (the tag first), as PROTOCOL.md shows the messages.


class Subscribe(msgspec.Struct, tag="subscribe", tag_field="type", forbid_unknown_fields=True):
    """Client -> server: follow repositories from the last seq seen in each (0: from the start)."""

    repositories: dict[RepositoryName, Seq]


class Unsubscribe(msgspec.Struct, tag="unsubscribe", tag_field="type", forbid_unknown_fields=True):
    """Client -> server: stop following these repositories."""

    repositories: list[RepositoryName]


class Subscribed(msgspec.Struct, tag="subscribed", tag_field="type"):
    """Server -> client: the subscription holds; the newest seq of each repository."""

    repositories: dict[str, int]


class Unsubscribed(msgspec.Struct, tag="unsubscribed", tag_field="type"):
    """Server -> client: these repositories are no longer followed."""

    repositories: list[str]


class EventMessage(msgspec.Struct, tag="event", tag_field="type", kw_only=True):
    """Server -> client: one change event; `replay` when it was read back from the log."""

    replay: bool = False
    event: ChangeEvent


class ResyncRequired(msgspec.Struct, tag="resync_required", tag_field="type", kw_only=True):
    """Server -> client: the log no longer covers `after`; refetch, then subscribe from last_seq."""

    repository: str
    after: int
    earliest_seq: int
    last_seq: int


class Ping(msgspec.Struct, tag="ping", tag_field="type", omit_defaults=True):
    """Either way: a sign of life is asked for; the server's carry `ts` (its time.time())."""

    ts: float | None = None


class Pong(msgspec.Struct, tag="pong", tag_field="type"):
    """Either way: the answer to a Ping."""


class ErrorMessage(msgspec.Struct, tag="error", tag_field="type", kw_only=True,
                   omit_defaults=True):
    """Server -> client: the last message was malformed or could not be served; what to do.
    `repository` names the subscription a `storage_unavailable` ended."""

    error: str
    message: str
    repository: str | None = None


ClientMessage = Subscribe | Unsubscribe | Ping | Pong
ServerMessage = Subscribed | Unsubscribed | EventMessage | ResyncRequired | Ping | Pong | ErrorMessage


def task_fields(task: Task) -> SyncTaskFields:
    """The editable part of a task, as batch items and conflicts carry it."""
    return SyncTaskFields(
        content=task.content, status=task.status, priority=task.priority, deleted=task.deleted
    )
