"""The reference model of a contested batch: what PROTOCOL.md's batch rules make of a push.

What the server should do with side B's push is computed here, independently of the
server, from what B actually sent, so every cell has an expected winner and final value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tasksync.models import SyncTaskFields

EDIT_FIELDS: tuple[str, ...] = ("content", "status", "priority", "deleted")


@dataclass(frozen=True)
class ModelItem:
    """One change of the contested push, as the model sees it."""

    fields: SyncTaskFields
    base: SyncTaskFields | None  # the base the server will merge against (None: none)
    client_time: datetime | None  # the item's updated_at (client clock)
    base_version: int | None = None  # the server version the item's edit started from


@dataclass(frozen=True)
class BatchExpectation:
    """What the server should end with after the push, and the conflicts it should report."""

    final: SyncTaskFields | None
    winners: tuple[str, ...]  # one per expected conflict, in item order
    wrote: bool = False  # the push changed the task (its version moved)

    @property
    def conflicts(self) -> int:
        return len(self.winners)


def three_way_merge(
    base: SyncTaskFields, server: SyncTaskFields, client: SyncTaskFields
) -> SyncTaskFields:
    """Field by field: a side that changed a field alone takes it; both changed: the server's."""
    merged: dict[str, Any] = {}
    for name in EDIT_FIELDS:
        was, ours, theirs = getattr(base, name), getattr(server, name), getattr(client, name)
        merged[name] = theirs if ours == was and theirs != was else ours
    return SyncTaskFields(**merged)


def replay_edit(
    base: SyncTaskFields, server: SyncTaskFields, client: SyncTaskFields
) -> SyncTaskFields:
    """A later edit onto the client's own earlier write: what it changed from its base wins."""
    return SyncTaskFields(**{
        name: getattr(client, name) if getattr(client, name) != getattr(base, name)
        else getattr(server, name)
        for name in EDIT_FIELDS
    })


def expected_batch(
    strategy: str,
    server: SyncTaskFields | None,
    server_time: datetime | None,
    items: Sequence[ModelItem],
    push_time: datetime,
    server_version: int | None = None,
) -> BatchExpectation:
    """The outcome PROTOCOL.md's batch rules give when `items` meet a task other clients
    last wrote at `server_time` (every version after each item's base written by others).

    An item whose fields equal the server's is `unchanged`; any other item on an existing
    task is a conflict resolved by `strategy`, until the push itself writes the task: the
    client's later items then build on its own write (no conflict), each replayed onto it
    (fields the item changed from its base take the item's value, the rest stay).
    With `server_version` given, an item whose `base_version` is that version builds on
    the current task (nobody wrote it since): it applies, no conflict.
    A write the push makes is stamped `push_time`.
    """
    winners: list[str] = []
    own_write = False
    for item in items:
        if server is None:
            server, server_time, own_write = item.fields, push_time, True
            continue
        if item.fields == server:
            continue
        if not own_write and _builds_on_current(item, server_version):
            server, server_time, own_write = item.fields, push_time, True
            continue
        if own_write:
            result = item.fields if item.base is None else replay_edit(item.base, server,
                                                                       item.fields)
            server, server_time = result, push_time
            continue
        winner, result = _resolve(strategy, server, server_time, item)
        winners.append(winner)
        if result != server:
            server, server_time, own_write = result, push_time, True
    return BatchExpectation(server, tuple(winners), own_write)


def expected_pushes(
    strategy: str,
    server: SyncTaskFields | None,
    server_time: datetime | None,
    server_version: int | None,
    pushes: Sequence[tuple[str, Sequence[ModelItem]]],
    push_time: datetime,
) -> tuple[dict[str, BatchExpectation], SyncTaskFields | None]:
    """Several clients' pushes served one after the other, in the given order: each
    client's expectation (by name) and the task's final fields.

    Each push meets what the ones before it left; a push that wrote moves the version past
    every later pusher's base, so their items conflict.
    """
    expectations: dict[str, BatchExpectation] = {}
    for name, items in pushes:
        expectation = expected_batch(strategy, server, server_time, items, push_time,
                                     server_version)
        expectations[name] = expectation
        if expectation.wrote:
            server, server_time = expectation.final, push_time
            server_version = None if server_version is None else server_version + 1
    return expectations, server


def _builds_on_current(item: ModelItem, server_version: int | None) -> bool:
    return (server_version is not None and item.base_version is not None
            and item.base_version >= server_version)


def _resolve(strategy: str, server: SyncTaskFields, server_time: datetime | None,
             item: ModelItem) -> tuple[str, SyncTaskFields]:
    """One conflict under `strategy`: (winner, the task's fields after it)."""
    if strategy == "client_wins":
        return "client", item.fields
    if strategy == "last_write_wins":
        client_won = (item.client_time is not None and server_time is not None
                      and item.client_time > server_time)
        return ("client", item.fields) if client_won else ("server", server)
    if strategy == "merge":
        if item.base is None:
            return "server", server
        return "merged", three_way_merge(item.base, server, item.fields)
    if strategy == "manual":
        return "none", server
    return "server", server


__all__ = ["EDIT_FIELDS", "BatchExpectation", "ModelItem", "expected_batch", "expected_pushes",
           "replay_edit", "three_way_merge"]
