"""The protocol's rules over a TaskStore: creates, updates, deletes and batch sync.

Every storage call runs on one dedicated thread (SQLite serialises writers anyway, and the
event loop must never block). Writes are group-committed (tasksync.server.group_commit):
each request runs in its own savepoint, with its idempotency record and change-log events
in the same transaction as its write, and is answered only after that transaction
commits. Committed events reach the WebSocket hub in seq order before the replies.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from tasksync.clock import hold, now_rfc3339
from tasksync.ids import new_id
from tasksync.models import (
    ChangeEvent,
    ChangePage,
    Conflict,
    ErrorBody,
    ItemResult,
    SyncItem,
    SyncRequest,
    SyncResponse,
    SyncTaskFields,
    Task,
    TaskCreate,
    TaskPage,
    TaskUpdate,
    task_fields,
)
from tasksync.server.conflicts import replay, resolve
from tasksync.server.group_commit import GroupCommitter
from tasksync.store.base import (
    AppliedChange,
    StorageError,
    StorageTimeout,
    StoredReply,
    TaskStore,
    change_key,
)

T = TypeVar("T")
_encode = msgspec.json.encode
Payload = Any  # a msgspec Struct or plain JSON-able value
Publish = Callable[[list[ChangeEvent]], None]
ERROR_AFTER_COMMIT_EVERY = 9  # seeded bug "error_after_commit": one write answer in nine
STALE_READ_CACHE_S = 2.0  # seeded bug "stale_read_cache": how long a cached read is served


@dataclass(frozen=True, slots=True)
class Reply:
    """A response ready to send: status, JSON body, extra headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def error_reply(
    status: int, code: str, message: str, field: str | None = None, current: Task | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """A JSON error reply in the protocol's ErrorBody shape."""
    body = ErrorBody(error=code, message=message, field=field, current=current)
    return Reply(status, _encode(body), headers or {})


@dataclass
class StorageFaults:
    """Injected storage faults (only reachable when fault injection is enabled)."""

    error_rate: float = 0.0
    delay_s: float = 0.0
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random)

    @property
    def active(self) -> bool:
        return self.delay_s > 0 or self.error_rate > 0

    def apply(self) -> None:
        """Run on the storage thread before each storage call: delay, then maybe fail."""
        if self.delay_s > 0:
            hold(self.delay_s)  # on the storage thread: a slow disk, not a slow loop
        if self.error_rate > 0 and self.rng.random() < self.error_rate:
            raise StorageError("injected storage fault")


class TaskService:
    """Runs each request's storage work on the storage thread and renders its reply."""

    def __init__(
        self,
        store: TaskStore,
        storage_timeout: float = 5.0,
        bugs: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.storage_timeout = storage_timeout
        self.bugs = bugs
        self.key_scope_bug = "idempotency_key_scope" in bugs  # read on every keyed write
        self._writes_answered = 0  # seeded bug "error_after_commit" counts them
        # seeded bug "stale_read_cache": task id -> (monotonic time read, task)
        self._read_cache: dict[str, tuple[float, Task | None]] | None = (
            {} if "stale_read_cache" in bugs else None)
        self.faults = StorageFaults()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tasksync-storage")
        self._writes = GroupCommitter(
            store, self._executor, before_each=lambda: self.faults.apply(),
            publish=lambda events: None, isolate=lambda: self.faults.active,
            timeout=storage_timeout, timed_out=self._timed_out,
            ack_before_commit="ack_before_commit" in bugs,
        )

    def writes_in_flight(self) -> int:
        """Writes received and not yet answered (queued for or inside a commit)."""
        return self._writes.in_flight

    def answers_500_after_commit(self) -> bool:
        """Seeded bug "error_after_commit": every ERROR_AFTER_COMMIT_EVERY-th write, once
        committed, fails to answer (a 500)."""
        if "error_after_commit" not in self.bugs:
            return False
        self._writes_answered += 1
        return self._writes_answered % ERROR_AFTER_COMMIT_EVERY == 0

    def attach(self, loop: asyncio.AbstractEventLoop, publish: Publish) -> None:
        """Deliver committed events to `publish` (called on the event loop)."""
        self._writes.publish = publish

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.store.close()

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` on the storage thread, with injected faults and the storage deadline."""

        def guarded() -> T:
            self.faults.apply()
            return work()

        future = asyncio.get_running_loop().run_in_executor(self._executor, guarded)
        return await self._within_deadline(future)

    async def _within_deadline(self, future: asyncio.Future[T]) -> T:
        try:
            return await asyncio.wait_for(future, self.storage_timeout)
        except TimeoutError as exc:
            raise self._timed_out() from exc

    def _timed_out(self) -> StorageTimeout:
        return StorageTimeout(f"storage did not answer within {self.storage_timeout:.1f}s")

    async def write(
        self,
        idempotency_key: str | None,
        fingerprint: str,
        operation: Callable[[str], tuple[int, Payload, list[ChangeEvent]]],
    ) -> Reply:
        """Apply `operation` once per idempotency key; a repeated key replays the stored reply."""
        if "ignore_idempotency" in self.bugs:
            idempotency_key = None

        def work() -> tuple[Reply, list[ChangeEvent]]:
            # Runs in this request's savepoint inside the batch's transaction.
            if idempotency_key:
                stored = self.store.stored_reply(idempotency_key)
                if stored is not None:
                    if stored.fingerprint != fingerprint:
                        return error_reply(
                            422, "idempotency_key_reused",
                            "this Idempotency-Key was used for a different request;"
                            " use a new key for each logical request",
                        ), []
                    return Reply(stored.status, stored.body, {"Idempotent-Replayed": "true"}), []
            status, payload, events = operation(now_rfc3339())
            body = payload if isinstance(payload, bytes) else _encode(payload)
            if idempotency_key:
                self.store.save_reply(idempotency_key, StoredReply(fingerprint, status, body))
            return Reply(status, body), events

        return await self._writes.submit(work)  # fails with StorageTimeout past the deadline

    # -- reads -------------------------------------------------------------------------

    async def get_task(self, task_id: str) -> Task | None:
        cache = self._read_cache
        if cache is not None:  # seeded bug "stale_read_cache": no write invalidates it
            hit = cache.get(task_id)
            if hit is not None and time.monotonic() - hit[0] < STALE_READ_CACHE_S:
                return hit[1]
        task = await self.run(lambda: self.store.get_task(task_id))
        if cache is not None:
            cache[task_id] = (time.monotonic(), task)
        return task

    async def list_tasks(
        self, repository: str, after_position: int, limit: int, include_deleted: bool
    ) -> TaskPage:
        if "page_token_skip" in self.bugs:
            return await self._list_tasks_skipping(repository, after_position, limit,
                                                   include_deleted)
        tasks, next_position = await self.run(
            lambda: self.store.list_tasks(repository, after_position, limit, include_deleted)
        )
        return TaskPage(tasks=tasks, next=None if next_position is None else str(next_position))

    async def _list_tasks_skipping(
        self, repository: str, after_position: int, limit: int, include_deleted: bool
    ) -> TaskPage:
        """Seeded bug "page_token_skip": one extra row is read to learn whether more follow,
        and the token is that row's position; the next page reads after it, so that task
        is never listed (when it is the last, the page says there is no more)."""
        tasks, next_position = await self.run(
            lambda: self.store.list_tasks(repository, after_position, limit + 1,
                                          include_deleted)
        )
        return TaskPage(tasks=tasks[:limit],
                        next=None if next_position is None else str(next_position))

    async def changes(self, repository: str, after: int, limit: int) -> ChangePage:
        def read() -> ChangePage:
            events = self.store.changes(repository, after, limit)
            earliest, last = self.store.log_bounds(repository)
            if "prune_without_resync" in self.bugs and earliest > after + 1:
                earliest = after + 1  # seeded bug: the pruned gap is not reported
            has_more = bool(events) and events[-1].seq < last
            return ChangePage(
                repository=repository, events=events, last_seq=last, earliest_seq=earliest,
                has_more=has_more,
            )

        return await self.run(read)

    async def ping(self) -> None:
        await self.run(self.store.ping)

    # -- writes (each runs inside the write transaction, on the storage thread) ---------

    def create(self, body: TaskCreate, origin: str) -> Callable[[str], tuple[int, Payload, list]]:
        def operation(now: str) -> tuple[int, Payload, list[ChangeEvent]]:
            write = self.store.insert_task
            if body.id is not None:
                existing = self.store.get_task(body.id)
                if existing is not None:
                    same = (
                        existing.repository == body.repository and not existing.deleted
                        and task_fields(existing) == SyncTaskFields(
                            content=body.content, status=body.status, priority=body.priority
                        )
                    )
                    if same:
                        return 200, existing, []
                    if (existing.deleted and existing.repository == body.repository
                            and "recreate_resets_version" in self.bugs):
                        write = self.store.replace_task  # the tombstone, back at version 1
                    elif existing.repository != body.repository:
                        # ids are global; a reply never carries another repository's task
                        return 409, ErrorBody(
                            error="id_conflict",
                            message=f"task id {body.id} is taken in another repository; "
                            "choose another id",
                        ), []
                    else:
                        return 409, ErrorBody(
                            error="id_conflict",
                            message=f"task {body.id} exists with different fields; choose "
                            "another id or update the existing task",
                            current=existing,
                        ), []
            task = Task(
                id=body.id or new_id(), repository=body.repository, content=body.content,
                status=body.status, priority=body.priority, version=1, created_at=now,
                updated_at=now, deleted=False, origin=origin,
            )
            write(task)
            return 201, task, [self.store.append_event("task_created", task, now)]

        return operation

    def update(
        self, task_id: str, patch: TaskUpdate, if_match: int | None, origin: str
    ) -> Callable[[str], tuple[int, Payload, list]]:
        def operation(now: str) -> tuple[int, Payload, list[ChangeEvent]]:
            current = self.store.get_task(task_id)
            if current is None or current.deleted:
                return 404, _not_found(task_id, current), []
            if if_match is not None and if_match != current.version:
                return 412, _stale(task_id, if_match, current), []
            fields = SyncTaskFields(
                content=current.content if patch.content is None else patch.content,
                status=current.status if patch.status is None else patch.status,
                priority=current.priority if patch.priority is None else patch.priority,
            )
            if fields == task_fields(current):
                return 200, current, []
            task = _changed(current, fields, origin, now)
            self.store.replace_task(task)
            return 200, task, [self.store.append_event("task_updated", task, now)]

        return operation

    def delete(
        self, task_id: str, if_match: int | None, origin: str
    ) -> Callable[[str], tuple[int, Payload, list]]:
        def operation(now: str) -> tuple[int, Payload, list[ChangeEvent]]:
            current = self.store.get_task(task_id)
            if current is None:
                return 404, _not_found(task_id, None), []
            if (if_match is not None and if_match != current.version
                    and "if_match_ignored_on_delete" not in self.bugs):
                return 412, _stale(task_id, if_match, current), []
            if current.deleted:
                return 200, current, []
            fields = msgspec.structs.replace(task_fields(current), deleted=True)
            task = _changed(current, fields, origin, now)
            self.store.replace_task(task)
            return 200, task, [self.store.append_event("task_deleted", task, now)]

        return operation

    def batch_sync(self, request: SyncRequest) -> Callable[[str], tuple[int, Payload, list]]:
        def operation(now: str) -> tuple[int, Payload, list[ChangeEvent]]:
            results: list[ItemResult] = []
            conflicts: list[Conflict] = []
            events: list[ChangeEvent] = []
            for item in request.items:
                result, conflict, event = self._apply_item(request, item, now)
                results.append(result)
                if conflict is not None:
                    conflicts.append(conflict)
                if event is not None:
                    events.append(event)
            pulled = self.store.changes(request.repository, request.cursor, request.pull_limit)
            _, last = self.store.log_bounds(request.repository)
            cursor = pulled[-1].seq if pulled else request.cursor
            response = SyncResponse(
                repository=request.repository, results=results, conflicts=conflicts,
                changes=pulled, cursor=cursor, has_more=request.pull_limit > 0 and cursor < last,
            )
            return 200, response, events

        return operation

    def _effective_base(self, server: Task, item: SyncItem, origin: str) -> int:
        """The version this change really builds on: its base_version, or the client's own
        latest write of the task when that is newer (queued offline edits of one task all
        carry the same base_version, yet each builds on the one before)."""
        own = self.store.latest_version_by(server.id, origin, item.base_version)
        return max(item.base_version, own or 0)

    def _conflicts(self, server: Task, item: SyncItem, origin: str) -> bool:
        """True when someone else wrote the task after the version this change builds on."""
        base_version = self._effective_base(server, item, origin)
        return server.version > base_version and self.store.written_by_others_since(
            server.id, base_version, origin)

    def _apply_item(
        self, request: SyncRequest, item: SyncItem, now: str
    ) -> tuple[ItemResult, Conflict | None, ChangeEvent | None]:
        store, origin = self.store, request.client_id
        key = change_key(origin, request.repository, item.change_id)
        fingerprint = _fingerprint(item)
        prior = store.applied_change(key)
        if prior is not None:
            if prior.fingerprint in ("", fingerprint) and prior.result.task_id == item.task_id:
                return msgspec.structs.replace(prior.result, replayed=True), None, None
            return _rejected(item, f"change_id {item.change_id!r} was already used by client "
                             f"{origin!r} in repository {request.repository!r} for another "
                             "change; give each change its own id"), None, None
        server = store.get_task(item.task_id)
        conflict: Conflict | None = None
        event: ChangeEvent | None = None
        if server is None:
            task = Task(
                id=item.task_id, repository=request.repository, content=item.task.content,
                status=item.task.status, priority=item.task.priority, version=1, created_at=now,
                updated_at=now, deleted=item.task.deleted, origin=origin,
            )
            store.insert_task(task)
            event = store.append_event("task_created", task, now)
            outcome, result_task = ("deleted" if task.deleted else "created"), task
        elif server.repository != request.repository:
            # never another repository's task in this repository's reply
            return _rejected(item, f"task {item.task_id!r} belongs to another repository; use "
                             "another task id"), None, None
        elif task_fields(server) == item.task:
            outcome, result_task = "unchanged", server
        elif "blind_overwrite" in self.bugs or not self._conflicts(server, item, origin):
            fields = item.task
            if item.base is not None and self._effective_base(server, item, origin) > item.base_version:
                fields = replay(item.base, task_fields(server), item.task)
            if fields == task_fields(server):
                outcome, result_task = "unchanged", server
            else:
                result_task = _changed(server, fields, origin, now)
                store.replace_task(result_task)
                event = store.append_event(_event_type(server, result_task), result_task, now)
                outcome = "deleted" if result_task.deleted and not server.deleted else "updated"
        else:
            base, base_version = item.base, self._effective_base(server, item, origin)
            if base is None and base_version > 0:
                snapshot = store.snapshot_at(server.id, base_version)
                base = task_fields(snapshot) if snapshot is not None else None
            resolution = resolve(request.strategy, server, item.task, item.updated_at, base,
                                 bugs=self.bugs)
            result_task = server
            if resolution.apply is not None and resolution.apply != task_fields(server):
                result_task = _changed(server, resolution.apply, origin, now)
                store.replace_task(result_task)
                event = store.append_event(_event_type(server, result_task), result_task, now)
            conflict = Conflict(
                conflict_id=0, task_id=server.id, repository=request.repository,
                change_id=item.change_id, strategy=request.strategy, winner=resolution.winner,
                base_version=item.base_version, server=server, client=item.task,
                client_updated_at=item.updated_at, resolved=result_task,
                fields=resolution.contested_fields, base=base,
            )
            store.save_conflict(conflict)
            outcome = "conflict"
        result = ItemResult(
            change_id=item.change_id, task_id=item.task_id, outcome=outcome, task=result_task
        )
        store.record_change(key, AppliedChange(result, fingerprint))
        return result, conflict, event


def _rejected(item: SyncItem, reason: str) -> ItemResult:
    """An item that can never apply; it carries no task (never another repository's)."""
    return ItemResult(change_id=item.change_id, task_id=item.task_id, outcome="rejected",
                      task=None, reason=reason)


def _fingerprint(item: SyncItem) -> str:
    """What makes a batch item this change: a retry sends the same, a reused id does not."""
    return hashlib.blake2b(msgspec.json.encode(item), digest_size=16).hexdigest()


def _changed(current: Task, fields: SyncTaskFields, origin: str, now: str) -> Task:
    return msgspec.structs.replace(
        current, content=fields.content, status=fields.status, priority=fields.priority,
        deleted=fields.deleted, version=current.version + 1, updated_at=now, origin=origin,
    )


def _event_type(before: Task, after: Task) -> str:
    if after.deleted and not before.deleted:
        return "task_deleted"
    return "task_updated"


def _not_found(task_id: str, tombstone: Task | None) -> ErrorBody:
    if tombstone is not None:
        return ErrorBody(
            error="not_found", message=f"task {task_id} was deleted; create a new task instead",
            current=tombstone,
        )
    return ErrorBody(error="not_found", message=f"no task with id {task_id}")


def _stale(task_id: str, if_match: int, current: Task) -> ErrorBody:
    return ErrorBody(
        error="version_mismatch",
        message=f"task {task_id} is at version {current.version}, not {if_match};"
        " fetch it, reapply your change and retry with the new version",
        current=current,
    )


__all__ = ["Reply", "StorageError", "StorageTimeout", "StorageFaults", "TaskService", "error_reply"]
