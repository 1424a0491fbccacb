"""Replica: an offline-first copy of one repository that syncs both ways with the server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from tasksync.clock import format_rfc3339
from tasksync.models import STRATEGIES
from tasksync.replica.checks import check_repository
from tasksync.replica.errors import InvalidTask, NoServerConfigured
from tasksync.replica.local import LocalStore
from tasksync.replica.records import (
    ConflictRecord,
    LocalTask,
    PendingChange,
    SyncReport,
    WatchReport,
)

# The network side (sync, watch, resync and the clients under them) is imported when first
# used: httpx, aiohttp and websockets take ~0.3 s to import, which every offline command
# of the CLI would otherwise pay.
if TYPE_CHECKING:
    from tasksync.client import HTTPClient
    from tasksync.replica.sync import BatchSyncer
    from tasksync.replica.watch import EventCallback

Clock = Callable[[], datetime]

DEFAULT_CHUNK_SIZE = 1000
DEFAULT_PULL_LIMIT = 10_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Replica:
    """A local replica of `repository` in the SQLite file at `path`.

    Local operations (add, edit, done, rm, list, get, resolve) work with no server: each
    change commits together with its outbox row. `sync()` pushes the outbox and pulls what
    others changed; `watch()` applies live events. The client id is generated once and
    stored in the file; `clock` (client time, used by last_write_wins) can be injected to
    study clock skew. Many replicas can live in one process: nothing here is global.

    `batch_client` replaces the BatchClient the replica would build from `server_url`
    (e.g. one with its own observer); `client_options` are passed to the HTTP clients it
    builds (retry, timeout, observer, transport...), `ws_options` to its WebSocketClient
    (reconnect, heartbeat_timeout...).
    """

    def __init__(
        self,
        path: str | Path,
        server_url: str | None = None,
        client_id: str | None = None,
        repository: str = "default",
        *,
        clock: Clock = _utc_now,
        batch_client: BatchSyncer | None = None,
        client_options: Mapping[str, Any] | None = None,
        ws_options: Mapping[str, Any] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        pull_limit: int = DEFAULT_PULL_LIMIT,
    ) -> None:
        self.repository = check_repository(repository)
        self.server_url = server_url.rstrip("/") if server_url else None
        self.chunk_size = chunk_size
        self.pull_limit = pull_limit
        self._clock = clock
        self._store = LocalStore(path, client_id)
        self._batch_client = batch_client
        self._owns_batch_client = batch_client is None
        self._http_client: HTTPClient | None = None
        self._client_options = dict(client_options or {})
        self._ws_options = dict(ws_options or {})
        self._sync_lock = asyncio.Lock()

    @property
    def client_id(self) -> str:
        return self._store.client_id

    @property
    def path(self) -> Path:
        return self._store.path

    def now(self) -> str:
        """The client clock as the protocol writes it."""
        return format_rfc3339(self._clock())

    # -- local operations (no server needed) ------------------------------------------

    def add(
        self,
        content: str,
        *,
        priority: str = "medium",
        status: str = "pending",
        task_id: str | None = None,
    ) -> LocalTask:
        """The new task (id: `task_id`, else a fresh time-ordered id), queued for the next sync."""
        return self._store.add(
            self.repository, content, task_id=task_id, status=status, priority=priority,
            updated_at=self.now(),
        )

    def edit(
        self,
        task_id: str,
        *,
        content: str | None = None,
        status: str | None = None,
        priority: str | None = None,
    ) -> LocalTask:
        """The task with the given fields changed; an edit that changes nothing queues nothing."""
        return self._store.edit(
            self.repository, task_id, content=content, status=status, priority=priority,
            updated_at=self.now(),
        )

    def done(self, task_id: str) -> LocalTask:
        """The task marked completed."""
        return self.edit(task_id, status="completed")

    def rm(self, task_id: str) -> LocalTask:
        """The task's tombstone (kept so the deletion syncs; hidden from `list`)."""
        return self._store.delete(self.repository, task_id, updated_at=self.now())

    def get(self, task_id: str) -> LocalTask:
        """The task, tombstones too; TaskNotFound if this replica has never seen it."""
        return self._store.get(self.repository, task_id)

    def find(self, id_or_prefix: str) -> LocalTask:
        """The task with this id, or the only one whose id starts with it."""
        return self._store.find(self.repository, id_or_prefix)

    def list(self, include_deleted: bool = False) -> list[LocalTask]:
        """The repository's tasks, tombstones only when `include_deleted`."""
        return self._store.list(self.repository, include_deleted)

    def tasks(self) -> dict[str, LocalTask]:
        """Every task by id, tombstones too: what convergence checks compare across replicas."""
        return {task.id: task for task in self._store.list(self.repository, include_deleted=True)}

    def pending_changes(self) -> list[PendingChange]:
        """The outbox: local changes the server has not acknowledged, oldest first."""
        return self._store.pending_changes(self.repository)

    def pending_count(self) -> int:
        return self._store.pending_count(self.repository)

    def cursor(self) -> int:
        """The seq of the last server event this replica applied."""
        return self._store.cursor(self.repository)

    def conflicts(self, unresolved_only: bool = False) -> list[ConflictRecord]:
        """Every conflict the server reported, or only the manual ones still open."""
        return self._store.conflicts(self.repository, unresolved_only)

    def resolve(self, task_id: str, keep: str) -> LocalTask:
        """The task after closing its manual conflict with the "local" or "server" side.

        "local" queues the local fields as a change based on the server's version (the next
        sync applies it); "server" drops the task's queued changes and takes the server's.
        """
        return self._store.resolve(self.repository, task_id, keep, updated_at=self.now())

    # -- with the server --------------------------------------------------------------

    async def sync(self, strategy: str = "server_wins") -> SyncReport:
        """Push the outbox, pull the changes after the cursor; the report of both.

        Raises ServerUnreachable (nothing lost: unacknowledged changes stay queued) or
        SyncError. Concurrent calls on one replica run one after the other.
        """
        from tasksync.replica.sync import sync_replica

        if strategy not in STRATEGIES:
            raise InvalidTask(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
        client = self._client()
        async with self._sync_lock:
            return await sync_replica(
                self._store, client, self.repository, strategy=strategy,
                server_url=self._url(), clock=self.now, chunk_size=self.chunk_size,
                pull_limit=self.pull_limit, resync=self._resync, log_end=self._log_end,
            )

    async def watch(
        self,
        *,
        seconds: float | None = None,
        max_events: int | None = None,
        on_event: EventCallback | None = None,
    ) -> WatchReport:
        """Apply live events from the stored cursor on; the report of what was applied.

        Stops after `seconds`, after `max_events` events, or when the caller cancels.
        `on_event(event, changed)` sees each event once it is applied.
        """
        from tasksync.replica.watch import watch_replica

        return await watch_replica(
            self._store, self.repository, self._url(), seconds=seconds,
            max_events=max_events, on_event=on_event, resync=self._resync,
            ws_options=self._ws_options,
        )

    async def _resync(self) -> int:
        from tasksync.replica.resync import resync_full_state

        return await resync_full_state(self._store, self._http(), self.repository)

    async def _log_end(self) -> int:
        from tasksync.replica.resync import log_last_seq

        return await log_last_seq(self._http(), self.repository)

    def _http(self) -> HTTPClient:
        from tasksync.client import HTTPClient

        if self._http_client is None:
            self._http_client = HTTPClient(
                self._url(), client_id=self.client_id, **self._http_options()
            )
        return self._http_client

    def _url(self) -> str:
        if self.server_url is None:
            raise NoServerConfigured()
        return self.server_url

    def _client(self) -> BatchSyncer:
        from tasksync.client import BatchClient

        if self._batch_client is None:
            self._batch_client = BatchClient(
                self._url(), client_id=self.client_id, **self._http_options()
            )
        return self._batch_client

    def _http_options(self) -> dict[str, Any]:
        from tasksync.replica.sync import REPLICA_RETRY

        return {"retry": REPLICA_RETRY, **self._client_options}

    # -- lifetime ---------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections this replica opened, then its file."""
        if self._owns_batch_client and self._batch_client is not None:
            await self._batch_client.aclose()  # type: ignore[attr-defined]
            self._batch_client = None
        if self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None
        self._store.close()

    def close(self) -> None:
        """Close the file (for replicas that never synced; otherwise use aclose)."""
        self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
