"""Live updates for a replica: WebSocket events applied to local tasks as they arrive.

The feed resumes from the replica's stored cursor, so nothing between the last sync (or
watch) and now is missed; the cursor advances with every applied event, so a later sync or
watch does not fetch them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tasksync.client import ResyncRequired, TaskSyncError, WebSocketClient
from tasksync.models import ChangeEvent
from tasksync.replica.errors import ServerUnreachable
from tasksync.replica.local import LocalStore
from tasksync.replica.records import WatchReport

# How long to wait for the first subscription when the caller set no deadline.
CONNECT_TIMEOUT = 10.0

EventCallback = Callable[[ChangeEvent, bool], None]


def websocket_url(server_url: str) -> str:
    """The /ws URL of the server at `server_url` (http -> ws, https -> wss)."""
    base = server_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/ws"
    if base.startswith("http://"):
        return "ws://" + base[len("http://"):] + "/ws"
    return base + "/ws"


async def watch_replica(
    store: LocalStore,
    repository: str,
    server_url: str,
    *,
    seconds: float | None = None,
    max_events: int | None = None,
    on_event: EventCallback | None = None,
    resync: Callable[[], Awaitable[int]] | None = None,
    ws_options: Mapping[str, Any] | None = None,
) -> WatchReport:
    """Apply live events until `seconds` pass, `max_events` arrive, or the caller cancels.

    `on_event(event, changed)` is called after each event is applied (`changed`: the local
    task moved). Raises ServerUnreachable when no subscription can be made in time.
    """
    started = time.monotonic()
    received = applied = resyncs = newest = 0

    async def on_resync(message: ResyncRequired) -> int | None:
        nonlocal resyncs
        resyncs += 1
        return await resync() if resync is not None else None

    cursor = await asyncio.to_thread(store.cursor, repository)
    feed = WebSocketClient(
        websocket_url(server_url), {repository: cursor}, client_id=store.client_id,
        on_resync=on_resync, **(ws_options or {}),
    )
    try:
        # Connecting has its own bound so that a dead server is reported as such, not as
        # a watch that quietly saw no events before its deadline.
        connect_within = CONNECT_TIMEOUT if seconds is None else min(CONNECT_TIMEOUT, seconds)
        try:
            await feed.connect(timeout=connect_within)
        except TaskSyncError as exc:
            raise await _unreachable(store, repository, server_url, exc) from exc
        remaining = None if seconds is None else max(0.0, started + seconds - time.monotonic())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(remaining):
                if max_events is None or max_events > 0:
                    async for delivered in feed.events():
                        event = delivered.event
                        changed = await asyncio.to_thread(store.apply_events, repository, [event])
                        received += 1
                        applied += changed
                        newest = max(newest, event.seq)
                        if on_event is not None:
                            on_event(event, bool(changed))
                        if max_events is not None and received >= max_events:
                            break
    except TaskSyncError as exc:  # the feed gave up reconnecting
        raise await _unreachable(store, repository, server_url, exc) from exc
    finally:
        with contextlib.suppress(Exception):
            await feed.close()
    cursor = await asyncio.to_thread(store.cursor, repository)
    return WatchReport(
        received=received, applied=applied, cursor=cursor,
        duration_s=time.monotonic() - started, resyncs=resyncs, behind=max(0, newest - cursor),
    )


async def _unreachable(
    store: LocalStore, repository: str, server_url: str, exc: TaskSyncError
) -> ServerUnreachable:
    pending = await asyncio.to_thread(store.pending_count, repository)
    # A watch only reads: it never changes anything on the server.
    return ServerUnreachable(server_url, pending, type(exc).__name__, definitely_not_applied=True)
