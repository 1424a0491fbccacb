"""Group commit: the writes queued while the storage thread was busy share one transaction.

A commit (writing the WAL frames of every page touched) is most of what a small write
costs, so committing many requests' writes at once multiplies write throughput. Nobody is
answered before COMMIT returns, so an acknowledged write is durable; a failed COMMIT fails
every request of the batch, none of which was written. Committed events are published in
seq order (one storage thread, batches in order, events in request order) before the
replies are released, as with one transaction per request.

A request that fails (an injected fault, a constraint violation) must not take the others
down with it. A SQLite savepoint per request would give that, but it costs about as much
as the request itself (each savepoint journals the original of every page it touches), and
requests almost never fail. So a batch first runs without savepoints; if a request raises,
the whole transaction is rolled back (nothing of it was written or answered) and the batch
runs again with a savepoint per request, where the failing one rolls back alone. While
`isolate()` is true (storage faults injected: failures are expected, and a delay must not
be paid twice) batches go straight to savepoints. With several server replicas on one
database, a request that loses a race for a key or a lock (StorageConflict) runs again in
a fresh savepoint, where it finds the other replica's write.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tasksync.clock import hold
from tasksync.store.base import StorageConflict, StorageError, TaskStore

T = TypeVar("T")
# A request's work: runs inside its savepoint on the storage thread, returns (result, events).
Work = Callable[[], tuple[T, list[Any]]]

MAX_BATCH = 256  # bounds the wait of the first request of a batch behind the others
CONFLICT_RETRIES = 3  # a request that lost a race to another replica, run again this often
CONFLICT_REQUEUES = 5  # ... and then put back in the queue for a later transaction this often
ACK_EARLY_COMMIT_S = 0.2  # seeded bug "ack_before_commit": how late the commit comes


@dataclass(slots=True)
class _Queued(Generic[T]):
    work: Work[T]
    future: asyncio.Future[T]
    requeued: int = 0  # times it lost a race and went back to the queue


class _RequestFailed(Exception):
    """A request raised in a batch run without savepoints: the batch was rolled back."""


class GroupCommitter:
    """Queues writes from the event loop and commits them in batches on the storage thread.

    `before_each` runs before each request's work, inside the batch's transaction (fault
    injection); `isolate` says whether to give every request its own savepoint from the
    start; `publish` receives the events of each committed batch on the event loop. A
    request not answered within `timeout` seconds fails with `timed_out()` (its work may
    still run later: the caller is told it may or may not have been applied).
    """

    def __init__(
        self,
        store: TaskStore,
        executor: Executor,
        before_each: Callable[[], None],
        publish: Callable[[list[Any]], None],
        isolate: Callable[[], bool] = lambda: False,
        timeout: float = 5.0,
        timed_out: Callable[[], Exception] = lambda: TimeoutError("storage did not answer"),
        ack_before_commit: bool = False,
    ) -> None:
        self.store = store
        # seeded bug "ack_before_commit": answer a batch, then commit it a little later
        self._ack_early = ack_before_commit
        self.timeout = timeout
        self._timed_out = timed_out
        # Futures in submission order with their deadlines (one timeout for all, so the
        # deadlines are in order too): one timer for the oldest replaces a timer per request.
        self._waiting: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._isolate = isolate
        self.publish = publish
        self._executor = executor
        self._before_each = before_each
        self._lock = threading.Lock()
        self._pending: list[_Queued[Any]] = []
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._answered_early = False  # this batch was answered before its COMMIT (bug)

    @property
    def in_flight(self) -> int:
        """Writes submitted and not yet answered (read on the event loop)."""
        return sum(1 for future, _ in self._waiting if not future.done())

    def submit(self, work: Work[T]) -> asyncio.Future[T]:
        """Queue `work`; the future resolves after the COMMIT of the batch that ran it."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests reuse a service): forget the old timer
            self._loop, self._timer, self._waiting = loop, None, collections.deque()
        future: asyncio.Future[T] = loop.create_future()
        deadline = loop.time() + self.timeout
        self._waiting.append((future, deadline))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)
        with self._lock:
            self._pending.append(_Queued(work, future))
            start, self._scheduled = not self._scheduled, True
        if start:
            self._executor.submit(self._drain)
        return future

    def _drain(self) -> None:
        """On the storage thread: commit one batch, then come back for the next one (after
        any reads queued meanwhile on the same thread, so writes cannot starve them)."""
        with self._lock:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        try:
            self._commit(batch)
        finally:
            with self._lock:
                again = self._scheduled = bool(self._pending)
            if again:
                self._executor.submit(self._drain)

    def _commit(self, batch: list[_Queued[Any]]) -> None:
        self._answered_early = False
        try:
            if self._isolate():
                outcomes, failed, events = self._run(batch, isolated=True)
            else:
                try:
                    outcomes, failed, events = self._run(batch, isolated=False)
                except (_RequestFailed, StorageConflict):  # rolled back; run again, each
                    outcomes, failed, events = self._run(batch, isolated=True)  # on its own
        except StorageError as exc:  # BEGIN or COMMIT failed: nothing of the batch was written
            outcomes, failed, events = [exc] * len(batch), [True] * len(batch), []
        batch, outcomes, failed = self._requeue_conflicts(batch, outcomes, failed)
        assert self._loop is not None
        if batch and not self._answered_early:
            self._loop.call_soon_threadsafe(self._deliver, batch, outcomes, failed, events)

    def _requeue_conflicts(self, batch: list[_Queued[Any]], outcomes: list[Any],
                           failed: list[bool]
                           ) -> tuple[list[_Queued[Any]], list[Any], list[bool]]:
        """Requests that lost a race to another writer (StorageConflict) even in their own
        savepoints go back to the front of the queue: the next transaction holds none of
        this one's locks (two replicas' batches that lock rows in opposite orders deadlock
        again and again inside one). Up to CONFLICT_REQUEUES times; the rest are answered."""
        again = {index for index, (queued, outcome, is_error) in
                 enumerate(zip(batch, outcomes, failed, strict=True))
                 if is_error and isinstance(outcome, StorageConflict)
                 and queued.requeued < CONFLICT_REQUEUES}
        if not again:
            return batch, outcomes, failed
        for index in again:
            batch[index].requeued += 1
        with self._lock:
            self._pending[:0] = [batch[index] for index in sorted(again)]
        keep = [index for index in range(len(batch)) if index not in again]
        return ([batch[i] for i in keep], [outcomes[i] for i in keep],
                [failed[i] for i in keep])

    def _answer_before_commit(self, batch: list[_Queued[Any]], outcomes: list[Any],
                              failed: list[bool], events: list[Any]) -> None:
        """Seeded bug "ack_before_commit": the batch is answered (and its events published)
        while its transaction is still open, and committed ACK_EARLY_COMMIT_S later, as a
        server that acknowledges before its commit is durable: a crash in between loses
        writes its clients were told are done."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._deliver, batch, list(outcomes), list(failed),
                                        list(events))
        self._answered_early = True
        hold(ACK_EARLY_COMMIT_S)

    def _run(self, batch: list[_Queued[Any]], isolated: bool
             ) -> tuple[list[Any], list[bool], list[Any]]:
        """One transaction over the batch: (outcome, failed, events) per request. Without
        isolation, the first request to raise rolls everything back (_RequestFailed)."""
        outcomes: list[Any] = []
        failed: list[bool] = []
        events: list[Any] = []
        with self.store.transaction():
            for queued in batch:
                try:
                    if isolated:
                        result, produced = self._in_savepoint(queued)
                    else:
                        self._before_each()
                        result, produced = queued.work()
                except Exception as exc:
                    if not isolated:
                        raise _RequestFailed from exc
                    outcomes.append(exc)  # this request only; the batch goes on
                    failed.append(True)
                else:
                    outcomes.append(result)
                    failed.append(False)
                    events.extend(produced)
            if not isolated:
                try:  # the batch's deferred inserts: a failure here is some request's
                    self.store.flush()
                except Exception as exc:
                    raise _RequestFailed from exc
            if self._ack_early:
                self._answer_before_commit(batch, outcomes, failed, events)
        return outcomes, failed, events

    def _in_savepoint(self, queued: _Queued[T]) -> tuple[T, list[Any]]:
        """One request in a savepoint of its own; run again when another writer (another
        server replica on the same database) took its key or lock first."""
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                with self.store.savepoint():
                    self._before_each()
                    return queued.work()
            except StorageConflict:
                if attempt == CONFLICT_RETRIES:
                    raise
        raise AssertionError("unreachable")

    def _deliver(self, batch: list[_Queued[Any]], outcomes: list[Any], failed: list[bool],
                 events: list[Any]) -> None:
        """On the event loop: publish the batch's events, then answer its requests."""
        if events:
            self.publish(events)
        for queued, outcome, is_error in zip(batch, outcomes, failed, strict=True):
            if queued.future.done():  # the caller gave up (storage timeout)
                continue
            if is_error:
                queued.future.set_exception(outcome)
            else:
                queued.future.set_result(outcome)
        waiting = self._waiting
        while waiting and waiting[0][0].done():  # answered in submission order
            waiting.popleft()

    def _expire(self) -> None:
        """On the event loop: fail the requests past their deadline, re-arm for the next."""
        assert self._loop is not None
        now, waiting = self._loop.time(), self._waiting
        while waiting and (waiting[0][0].done() or waiting[0][1] <= now):
            future, _ = waiting.popleft()
            if not future.done():
                future.set_exception(self._timed_out())
        self._timer = self._loop.call_at(waiting[0][1], self._expire) if waiting else None
