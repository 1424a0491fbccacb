"""What every actor of a generated run shares: the stack, the History, the frames, the limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from syncbench.explore.records import Recorder, shown_content
from syncbench.history import History, OpHandle
from syncbench.nemesis import Nemesis
from syncbench.stack import Stack
from tasksync.client import RetryPolicy
from tasksync.client.errors import HTTPStatusError, RetriesExhausted, TaskSyncError
from tasksync.models import EDITABLE_FIELDS, MAX_SEQ, Task

T = TypeVar("T")

# HTTP clients and replicas ride out a short reset (three attempts within a few seconds) and
# fail fast while cut off, as the sync study's replicas do.
CLIENT_RETRY = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.5, deadline=5.0)


# operations whose request names a repository (in its body or path); the others are by id
NAMING_REPOSITORY = frozenset({"create", "retry_create", "batch", "retry_batch", "list",
                               "changes"})


@dataclass(frozen=True)
class DriverConfig:
    """The limits of a generated run: each op, the final sync rounds, the final drain."""

    profile: str
    strategy: str = "server_wins"     # what replicas use in the final sync rounds
    op_timeout_s: float = 20.0        # no op of the schedule runs longer
    converge_timeout_s: float = 30.0  # deadline of the final sync rounds
    delivery_timeout_s: float = 10.0  # deadline of the subscribers' final drain
    answer_timeout_s: float = 5.0     # a WebSocket subscribe/unsubscribe answer
    retry: RetryPolicy = CLIENT_RETRY
    request_timeout_s: float = 10.0
    replica_pull_limit: int = 10_000  # events a replica pulls per round trip
    max_body_bytes: int = 1_048_576   # the server's body limit (tasksync serve --max-body-bytes)


@dataclass
class RunContext:
    """One profile's generated run: what the actors write into and read from."""

    stack: Stack
    history: History
    recorder: Recorder
    nemesis: Nemesis
    config: DriverConfig
    repositories: tuple[str, ...]
    group_of: Callable[[str], str]
    # the sync study's replica rows (same fields as its nominal run records)
    changes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    acks: list[dict[str, Any]] = field(default_factory=list)
    syncs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def profile(self) -> str:
        return self.config.profile

    def client_options(self) -> dict[str, Any]:
        """What every HTTP client and replica of the run is built with."""
        return {"retry": self.config.retry, "observer": self.history.observe_attempt,
                "timeout": self.config.request_timeout_s}

    def remember_change(self, replica: str, handle: OpHandle, action: str, change: Any,
                        key: str | None, task_id: str | None) -> None:
        """Remember `change` (the newest outbox row after a local write `handle` that ended
        ok) unless it is already remembered: an edit that changes nothing queues nothing,
        so the newest row is then an older change."""
        if (replica, change.change_id) in self.changes:
            return
        self.changes[(replica, change.change_id)] = {
            "local_op_id": handle.op_id, "kind": action, "key": key, "task_id": task_id,
            **{name: getattr(change.task, name) for name in EDITABLE_FIELDS},
            "content": shown_content(change.task.content)}

    def acknowledge(self, replica: str, repository: str, handle: OpHandle,
                    before: list[str], after: set[str]) -> int:
        """Record each change of `before` that left `replica`'s outbox during the sync
        `handle` (the sync study's acknowledgement rows); how many did."""
        acknowledged = [change_id for change_id in before if change_id not in after]
        for change_id in acknowledged:
            local = self.changes.get((replica, change_id), {})
            self.acks.append({
                "profile": self.profile, "replica": replica, "repository": repository,
                "change_id": change_id, "sync_op_id": handle.op_id,
                "sync_outcome": handle.outcome, "local_op_id": local.get("local_op_id"),
                "kind": local.get("kind"), "key": local.get("key"),
                "task_id": local.get("task_id"),
                **{name: local.get(name) for name in EDITABLE_FIELDS}})
        return len(acknowledged)

    @asynccontextmanager
    async def op(self, client: str, op: dict[str, Any] | None, operation: str,
                 **args: Any) -> AsyncIterator[tuple[OpHandle, list[dict[str, Any]]]]:
        """Record one op in the History around the block, bounded by the op deadline; the
        handle and the list the block puts its observation rows in (completed on exit).

        An HTTP error's stored task (`current` of a 409 or 412) is observed as a read.
        """
        schedule = {"step": op["step"], "kind": op["kind"]} if op else {}
        rows: list[dict[str, Any]] = []
        async with self.history.record(client, operation, profile=self.profile, **schedule,
                                       **args) as handle:
            try:
                async with asyncio.timeout(self.config.op_timeout_s):
                    yield handle, rows
            except TaskSyncError as exc:
                current = stored_task(exc)
                if current is not None:
                    # a route by id (PATCH, DELETE) names no repository to hold it against
                    named = args.get("repository") if operation in NAMING_REPOSITORY else None
                    rows.append(self.observe(handle, client, op, operation, current,
                                             write=False, repository=named,
                                             requested=args.get("task_id"), source="current"))
                raise
        complete = handle.op.complete_time or time.time()
        listing = bool(rows) and handle.outcome == "ok" and args.get("walks_every_page", False)
        Recorder.complete(rows, complete, listing_complete=listing)

    def observe(self, handle: OpHandle, client: str, op: dict[str, Any] | None, operation: str,
                task: Task, *, write: bool, repository: str | None, requested: str | None,
                seq: int | None = None, source: str = "task") -> dict[str, Any]:
        """Record a task state seen in the reply of `handle`'s op; the row."""
        return self.recorder.observe(
            op_id=handle.op_id, step=op["step"] if op else None, client=client,
            operation=operation, kind=op["kind"] if op else operation, write=write,
            repository=repository, requested_task_id=requested, task=task,
            invoke_time=handle.op.invoke_time, seq=seq, source=source)


# An observer's read of the server (never through a proxy) waits this long: a crashed,
# restarting or paused server is then simply not observed, instead of ending the run.
OBSERVE_TIMEOUT_S = 10.0


async def observed(read: Awaitable[T]) -> T | None:
    """The result of an observer's direct read of the server, or None when the server does
    not answer it in OBSERVE_TIMEOUT_S (down, restarting or paused by a fault)."""
    try:
        async with asyncio.timeout(OBSERVE_TIMEOUT_S):
            return await read
    except (TimeoutError, httpx.HTTPError):
        return None


def stored_task(exc: BaseException) -> Task | None:
    """The stored task an HTTP error carries (409, 412), looking through RetriesExhausted."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, HTTPStatusError):
            return exc.current
        exc = exc.last_error if isinstance(exc, RetriesExhausted) else None  # type: ignore[assignment]
    return None


def position(word: str | int, last: int) -> int:
    """A seq position named by the generator, from the newest seq the client knows (`last`)."""
    if isinstance(word, int):
        return word
    positions = {"zero": 0, "first": 1, "middle": last // 2, "last": last, "seen": last,
                 "beyond": last + 1000, "max": MAX_SEQ}
    if word not in positions:
        raise ValueError(f"unknown position {word!r}; use one of {', '.join(positions)}")
    return positions[word]


__all__ = ["CLIENT_RETRY", "OBSERVE_TIMEOUT_S", "DriverConfig", "RunContext", "observed",
           "position", "stored_task"]
