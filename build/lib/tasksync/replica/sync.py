"""One sync of a replica: push the outbox in chunks, apply each reply, pull the rest.

Each reply is applied in one local transaction (acknowledged changes leave the outbox, the
cursor advances), so a sync that fails half way keeps exactly the changes the server has
not acknowledged, and the next sync resumes from there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from tasksync import bugs
from tasksync.client import (
    CircuitOpenError,
    HTTPStatusError,
    RetriesExhausted,
    RetryPolicy,
    TaskSyncError,
    TransportError,
)
from tasksync.models import SyncItem, SyncResponse
from tasksync.replica.errors import ServerUnreachable, SyncError
from tasksync.replica.local import LocalStore
from tasksync.replica.records import ConflictRecord, SyncReport

# A replica is interactive: a user waiting at the prompt should hear "unreachable" within
# seconds, not after the client library's default 30 s of retries.
REPLICA_RETRY = RetryPolicy(max_attempts=4, base_delay=0.2, max_delay=2.0, deadline=15.0)


class BatchSyncer(Protocol):
    """What sync needs of tasksync.client.BatchClient (a fake in unit tests)."""

    async def batch_sync(
        self,
        repository: str,
        items: Sequence[SyncItem],
        cursor: int,
        strategy: str,
        client_id: str | None = None,
        *,
        pull_limit: int = ...,
    ) -> SyncResponse: ...


async def sync_replica(
    store: LocalStore,
    client: BatchSyncer,
    repository: str,
    *,
    strategy: str,
    server_url: str,
    clock: Callable[[], str],
    chunk_size: int,
    pull_limit: int,
    resync: Callable[[], Awaitable[int]] | None = None,
    log_end: Callable[[], Awaitable[int]] | None = None,
) -> SyncReport:
    """The report of pushing the outbox and pulling the server's changes after the cursor.

    Only changes queued before the sync starts are pushed, so a user editing during a long
    sync cannot keep it going forever; their changes go with the next sync. When the pulled
    events skip seqs (the server pruned its log past our cursor), `resync` fetches the full
    state. `log_end` gives the newest seq of the server's log (only the seeded bug
    "cursor_ignores_has_more" asks for it).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    started = time.monotonic()
    last_seq = await asyncio.to_thread(store.last_pending_seq, repository)
    after_seq = 0
    pushed = pulled = applied = replayed = round_trips = 0
    conflicts: list[ConflictRecord] = []
    rejected: list[str] = []
    more_to_pull = True  # nothing pulled yet: one request even with an empty outbox
    log_gap: tuple[int, int] | None = None  # (our cursor, the first seq pulled past it)
    while True:
        chunk = await asyncio.to_thread(
            store.pending_changes, repository, chunk_size, after_seq=after_seq, up_to_seq=last_seq
        )
        if not chunk and not more_to_pull:
            break
        cursor = await asyncio.to_thread(store.cursor, repository)
        if chunk and bugs.active("outbox_clear_before_reply"):
            # seeded bug: the rows leave the outbox on sending, before any reply settles them
            await asyncio.to_thread(store.remove_changes, [c.change_id for c in chunk])
        reply = await _send(
            client, store, repository, [change.as_item() for change in chunk], cursor,
            strategy, pull_limit, server_url, acknowledged=pushed > 0,
        )
        round_trips += 1
        result = await asyncio.to_thread(
            store.apply_reply, repository, chunk, reply, strategy=strategy, recorded_at=clock()
        )
        pushed += result.acknowledged
        replayed += result.replayed
        applied += result.applied_events
        pulled += len(reply.changes)
        # The log's seqs are contiguous; a jump past our cursor means pruned events.
        if log_gap is None and reply.changes and reply.changes[0].seq > cursor + 1:
            log_gap = (cursor, reply.changes[0].seq)
        conflicts += result.conflicts
        rejected += result.rejected
        if chunk:
            after_seq = chunk[-1].seq
        # A pull-only reply that does not move the cursor would repeat itself forever.
        more_to_pull = reply.has_more and (bool(chunk) or reply.cursor > cursor)
        if reply.has_more and log_end is not None and bugs.active("cursor_ignores_has_more"):
            # seeded bug: a truncated pull taken as the whole log; the cursor jumps to its end
            await asyncio.to_thread(store.apply_full_state, repository, [], await log_end())
            more_to_pull = False
    if log_gap is not None and resync is not None:
        try:
            await resync()
        except TaskSyncError as exc:
            pending = await asyncio.to_thread(store.pending_count, repository)
            raise _sync_error(exc, server_url, pending, acknowledged=pushed > 0) from exc
    return SyncReport(
        pushed=pushed,
        pulled=pulled,
        applied=applied,
        conflicts=conflicts,
        round_trips=round_trips,
        duration_s=time.monotonic() - started,
        cursor=await asyncio.to_thread(store.cursor, repository),
        pending=await asyncio.to_thread(store.pending_count, repository),
        strategy=strategy,
        replayed=replayed,
        rejected=rejected,
        resynced=log_gap is not None and resync is not None,
        gap=log_gap,
    )


async def _send(
    client: BatchSyncer,
    store: LocalStore,
    repository: str,
    items: list[SyncItem],
    cursor: int,
    strategy: str,
    pull_limit: int,
    server_url: str,
    *,
    acknowledged: bool,
) -> SyncResponse:
    try:
        # The body's client_id must be the one in our change ids: it is the `origin` the
        # server compares to decide that a client never conflicts with its own writes.
        return await client.batch_sync(
            repository, items, cursor, strategy, store.client_id,  # type: ignore[arg-type]
            pull_limit=pull_limit,
        )
    except TaskSyncError as exc:
        pending = await asyncio.to_thread(store.pending_count, repository)
        raise _sync_error(exc, server_url, pending, acknowledged=acknowledged) from exc


def _sync_error(
    exc: TaskSyncError, server_url: str, pending: int, *, acknowledged: bool
) -> SyncError:
    """The replica's error for a client error: unreachable, or the server said no.

    `acknowledged`: an earlier request of this sync was applied, so the sync as a whole was
    not nothing, whatever the failing request did.
    """
    not_applied = not acknowledged and exc.definitely_not_applied
    if _unreachable(exc):
        return ServerUnreachable(
            server_url, pending, _reason(exc), definitely_not_applied=not_applied
        )
    return SyncError(
        f"sync with {server_url} failed: {exc}; your {pending} local change(s) are kept in"
        " the outbox",
        pending,
        definitely_not_applied=not_applied,
    )


def _unreachable(exc: BaseException) -> bool:
    """True when no answer came back: the network or the server is down, not the request."""
    if isinstance(exc, RetriesExhausted):
        return _unreachable(exc.last_error)
    if isinstance(exc, TransportError | CircuitOpenError):
        return True
    return isinstance(exc, HTTPStatusError) and exc.status_code in (502, 503, 504)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RetriesExhausted):
        return f"{exc.attempts} attempt(s) in {exc.elapsed:.1f}s, last: {_reason(exc.last_error)}"
    if isinstance(exc, HTTPStatusError):
        return f"HTTP {exc.status_code}" + (f" {exc.code}" if exc.code else "")
    cause = getattr(exc, "cause", None)
    return type(cause).__name__ if cause is not None else type(exc).__name__
