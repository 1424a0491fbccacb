"""Conflict resolution: which side of a conflicting batch item wins, per strategy.

Pure functions over values, so every strategy is tested without a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tasksync.clock import parse_rfc3339
from tasksync.models import EDITABLE_FIELDS, SyncTaskFields, Task, task_fields


@dataclass(frozen=True, slots=True)
class Resolution:
    """The winner and the fields to store (None: the server's task stays as it is)."""

    winner: str  # "server" | "client" | "merged" | "none"
    apply: SyncTaskFields | None
    contested_fields: list[str] = field(default_factory=list)


def resolve(
    strategy: str,
    server: Task,
    client: SyncTaskFields,
    client_updated_at: str,
    base: SyncTaskFields | None,
    *,
    bugs: frozenset[str] = frozenset(),
) -> Resolution:
    """Resolve a conflict between the stored task and a client's change by `strategy`.

    `bugs`: the server's seeded bugs (tasksync.bugs); "lww_tie_client" and
    "merge_drops_field" change the outcome here.
    """
    if strategy == "client_wins":
        return Resolution("client", client)
    if strategy == "last_write_wins":
        return _last_write_wins(server, client, client_updated_at,
                                ties_to_client="lww_tie_client" in bugs)
    if strategy == "merge":
        if base is None:  # nothing to merge against: the safe default
            return Resolution("server", None)
        return merge(base, task_fields(server), client,
                     drop_client_fields="merge_drops_field" in bugs)
    if strategy == "manual":
        return Resolution("none", None)
    return Resolution("server", None)


def _last_write_wins(server: Task, client: SyncTaskFields, client_updated_at: str,
                     ties_to_client: bool = False) -> Resolution:
    # The client's clock against the server's: a skewed client clock decides the outcome,
    # which is exactly the hazard this strategy exists to show. Ties go to the server.
    client_time = parse_rfc3339(client_updated_at)
    server_time = parse_rfc3339(server.updated_at)
    if client_time is not None and server_time is not None and (
            client_time > server_time or (ties_to_client and client_time == server_time)):
        return Resolution("client", client)
    return Resolution("server", None)


def merge(base: SyncTaskFields, server: SyncTaskFields, client: SyncTaskFields,
          drop_client_fields: bool = False) -> Resolution:
    """Three-way merge by field; a field both sides changed differently keeps the server's.

    `drop_client_fields` is the seeded bug "merge_drops_field": a field only the client
    changed keeps the server's value whenever the server changed some other field.
    """
    server_changed = drop_client_fields and any(
        getattr(server, name) != getattr(base, name) for name in EDITABLE_FIELDS)
    merged: dict[str, object] = {}
    contested: list[str] = []
    for name in EDITABLE_FIELDS:
        base_value, server_value, client_value = (
            getattr(base, name), getattr(server, name), getattr(client, name)
        )
        if client_value == base_value or client_value == server_value:
            merged[name] = server_value
        elif server_value == base_value:
            merged[name] = server_value if drop_client_fields and server_changed else client_value
        else:
            merged[name] = server_value
            contested.append(name)
    return Resolution("merged", SyncTaskFields(**merged), contested)  # type: ignore[arg-type]


def replay(previous: SyncTaskFields, server: SyncTaskFields, client: SyncTaskFields) -> SyncTaskFields:
    """A client's edit replayed onto the server's version of the client's own earlier write.

    `previous` is what the edit started from on the client. Fields the edit left alone keep
    the server's value (which may hold a merge the client has not seen yet); fields it
    changed take the client's value: the client's own latest intent, not a new conflict.
    """
    merged = merge(previous, server, client)
    assert merged.apply is not None
    values = {name: getattr(client if name in merged.contested_fields else merged.apply, name)
              for name in EDITABLE_FIELDS}
    return SyncTaskFields(**values)  # type: ignore[arg-type]
