"""Group commit on a real SQLite file: one failing request never takes its batch down."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from tasksync.clock import now_rfc3339
from tasksync.models import ChangeEvent, Task
from tasksync.server.group_commit import GroupCommitter
from tasksync.store import SQLiteStore


class CountingStore(SQLiteStore):
    """The real store, counting the savepoints it was asked for."""

    savepoints = 0

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self.savepoints += 1
        with super().savepoint():
            yield


def create(store: SQLiteStore, task_id: str, fail: bool = False):
    """A request's work: insert a task and its event; raise after writing when `fail`."""

    def work() -> tuple[str, list[ChangeEvent]]:
        now = now_rfc3339()
        task = Task(id=task_id, repository="r", content=task_id, created_at=now, updated_at=now)
        store.insert_task(task)
        event = store.append_event("task_created", task, now)
        if fail:
            raise ValueError(f"{task_id} failed after writing")
        return task_id, [event]

    return work


async def run_batch(committer: GroupCommitter, executor: ThreadPoolExecutor,
                    works: list) -> list[object]:
    """Submit `works` while the storage thread is held, so they all land in one batch."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait(timeout=10)

    executor.submit(hold)
    assert await asyncio.to_thread(held.wait, 10)
    futures = [committer.submit(work) for work in works]
    release.set()
    return await asyncio.gather(*futures, return_exceptions=True)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CountingStore]:
    store = CountingStore(tmp_path / "server.db")
    yield store
    store.close()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


def committer_for(store: SQLiteStore, executor: ThreadPoolExecutor, published: list,
                  isolate: bool = False) -> GroupCommitter:
    return GroupCommitter(store, executor, before_each=lambda: None,
                          publish=published.extend, isolate=lambda: isolate)


async def test_a_batch_without_failures_commits_without_savepoints(store, executor) -> None:
    published: list[ChangeEvent] = []
    committer = committer_for(store, executor, published)
    results = await run_batch(committer, executor, [create(store, f"t{i}") for i in range(5)])
    assert results == [f"t{i}" for i in range(5)]
    assert store.savepoints == 0
    assert [event.seq for event in published] == [1, 2, 3, 4, 5]
    assert all(store.get_task(f"t{i}") is not None for i in range(5))


@pytest.mark.parametrize("isolate", [False, True], ids=["optimistic", "isolated"])
async def test_a_failing_request_rolls_back_alone(store, executor, isolate: bool) -> None:
    published: list[ChangeEvent] = []
    committer = committer_for(store, executor, published, isolate=isolate)
    works = [create(store, "t0"), create(store, "bad", fail=True), create(store, "t2")]
    results = await run_batch(committer, executor, works)

    assert results[0] == "t0" and results[2] == "t2"
    assert isinstance(results[1], ValueError)
    assert store.get_task("bad") is None  # its insert was rolled back with it
    reopened = SQLiteStore(store.path)  # the log bounds were saved, not only cached
    assert reopened.log_bounds("r") == (1, 2)
    reopened.close()
    assert store.get_task("t0") is not None and store.get_task("t2") is not None
    # The log has no hole where the failed request's event was, and only committed events
    # were published.
    assert [(event.task_id, event.seq) for event in published] == [("t0", 1), ("t2", 2)]
    assert [event.seq for event in store.changes("r", 0, 10)] == [1, 2]
    assert store.savepoints == 3  # every request of the batch ran in its own savepoint


async def test_the_next_batch_is_optimistic_again(store, executor) -> None:
    published: list[ChangeEvent] = []
    committer = committer_for(store, executor, published)
    await run_batch(committer, executor, [create(store, "bad", fail=True), create(store, "t1")])
    before = store.savepoints
    assert await run_batch(committer, executor, [create(store, "t2")]) == ["t2"]
    assert store.savepoints == before
    assert [event.task_id for event in published] == ["t1", "t2"]


async def test_a_request_past_its_deadline_fails_and_later_ones_are_still_answered(
        store, executor) -> None:
    published: list[ChangeEvent] = []
    committer = GroupCommitter(store, executor, before_each=lambda: None,
                               publish=published.extend, timeout=0.05,
                               timed_out=lambda: TimeoutError("storage is slow"))
    held, release = threading.Event(), threading.Event()
    executor.submit(lambda: (held.set(), release.wait(timeout=10)))
    assert await asyncio.to_thread(held.wait, 10)
    stuck = committer.submit(create(store, "t0"))  # queued behind the held storage thread
    with pytest.raises(TimeoutError, match="storage is slow"):
        await stuck
    release.set()
    assert await committer.submit(create(store, "t1")) == "t1"
    # The timed-out request still ran (its caller was told it may have): nothing half-done.
    assert [event.task_id for event in published] == ["t0", "t1"]


async def test_an_insert_that_fails_only_when_written_is_charged_to_its_own_request(
        store, executor) -> None:
    """Creates' inserts are written together at the end of the batch; a duplicate id found
    then must still fail only the request that made it."""
    published: list[ChangeEvent] = []
    committer = committer_for(store, executor, published)
    works = [create(store, "t0"), create(store, "t1"), create(store, "t0"), create(store, "t3")]
    results = await run_batch(committer, executor, works)
    assert results[0] == "t0" and results[1] == "t1" and results[3] == "t3"
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert [event.task_id for event in published] == ["t0", "t1", "t3"]
    assert [event.seq for event in store.changes("r", 0, 10)] == [1, 2, 3]


def losing(store: SQLiteStore, task_id: str, losses: int, tries: list[int]):
    """`create`, but losing the race to another writer (StorageConflict) `losses` times."""
    from tasksync.store.base import StorageConflict

    def work() -> tuple[str, list[ChangeEvent]]:
        tries.append(1)
        if len(tries) <= losses:
            raise StorageConflict("another writer got there first (40P01: deadlock)")
        return create(store, task_id)()

    return work


async def test_a_request_that_keeps_losing_races_is_run_in_a_later_transaction(
        store, executor) -> None:
    from tasksync.server.group_commit import CONFLICT_REQUEUES, CONFLICT_RETRIES
    from tasksync.store.base import StorageConflict

    published: list[ChangeEvent] = []
    committer = committer_for(store, executor, published)
    # more losses than one transaction retries: it goes back to the queue and then applies
    tries: list[int] = []
    later = losing(store, "late", CONFLICT_RETRIES + 2, tries)
    results = await run_batch(committer, executor, [create(store, "t0"), later])
    assert results == ["t0", "late"]
    assert [event.task_id for event in published] == ["t0", "late"]
    assert store.get_task("late") is not None
    # one that never wins is answered with the conflict once every chance is used
    always: list[int] = []
    never = losing(store, "never", 10**6, always)
    (result,) = await run_batch(committer, executor, [never])
    assert isinstance(result, StorageConflict)
    # per transaction: the batch's optimistic run, then 1 + retries in savepoints
    assert len(always) == (1 + CONFLICT_REQUEUES) * (1 + 1 + CONFLICT_RETRIES)
    assert store.get_task("never") is None
