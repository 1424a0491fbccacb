"""Full-state resync: when the server's change log no longer covers the replica's cursor.

The log may be pruned (`--log-retention`); events before its earliest seq are gone, so a
replica whose cursor is older cannot catch up by deltas. It lists every task instead
(tombstones too) and continues from the log's last seq.
"""

from __future__ import annotations

import asyncio

from tasksync import bugs
from tasksync.client import HTTPClient
from tasksync.replica.local import LocalStore


async def log_last_seq(http: HTTPClient, repository: str) -> int:
    """The newest seq of the server's change log of `repository` (0: empty)."""
    return (await http.changes(repository, after=0, limit=1)).last_seq


async def resync_full_state(store: LocalStore, http: HTTPClient, repository: str) -> int:
    """The seq the replica continues from, after applying the server's full task list.

    The last seq is read before the listing, so an event written in between is pulled
    again later; applying it twice is harmless (a task only moves to newer versions).
    """
    last_seq = await log_last_seq(http, repository)
    # The seeded bug "resync_keeps_deleted" lists live tasks only: tombstones never arrive.
    with_tombstones = not bugs.active("resync_keeps_deleted")
    tasks = [task async for task in http.iter_tasks(repository, include_deleted=with_tombstones)]
    await asyncio.to_thread(store.apply_full_state, repository, tasks, last_seq)
    return last_seq
