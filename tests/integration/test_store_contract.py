"""The TaskStore contract, on every store: SQLite, PostgreSQL (a real server) and Qdrant
(local mode).

Each test runs once per store (the `store_kind` fixture). "Writers" are TaskService
instances, as in a server: SQLite and Qdrant's local mode have one per file or folder (they
refuse a second), PostgreSQL takes several on one database, as server replicas do;
concurrent writes go through all of them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import psycopg
import pytest

from tasksync.models import SyncItem, SyncRequest, SyncTaskFields, TaskCreate, TaskUpdate
from tasksync.server.service import TaskService
from tasksync.store.base import AppliedChange, StorageError, StoredReply, TaskStore
from tasksync.store.opening import open_store

REPLICAS = {"sqlite": 1, "postgresql": 3, "qdrant": 1}
_keys = itertools.count(1)


@pytest.fixture
def stores(server_store: str, tmp_path: Path) -> Iterator[Callable[[], TaskStore]]:
    """Opens stores on one database (each call: another store, as another server would)."""
    opened: list[TaskStore] = []

    def open_one() -> TaskStore:
        store = open_store(server_store, tmp_path / "server.db", None, call_timeout=10)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
async def writers(stores: Callable[[], TaskStore], store_kind: str) -> list[TaskService]:
    services = [TaskService(stores()) for _ in range(REPLICAS[store_kind])]
    for service in services:
        service.attach(asyncio.get_running_loop(), lambda events: None)
    yield services
    for service in services:
        service._executor.shutdown(wait=True)


def reopen(stores: Callable[[], TaskStore], store: TaskStore) -> TaskStore:
    """The same database through a store opened afresh (SQLite and Qdrant's local mode, one
    writer each: after closing `store`)."""
    if store.__class__.__name__ in ("SQLiteStore", "QdrantStore"):
        store.close()
    return stores()


async def create(service: TaskService, repository: str, content: str, key: str | None = None,
                 origin: str = "tester") -> dict:
    reply = await service.write(key, f"create {content}", service.create(
        TaskCreate(repository=repository, content=content), origin))
    assert reply.status == 201, reply.body
    return msgspec.json.decode(reply.body)


def whole_log(store: TaskStore, repository: str) -> list:
    return store.changes(repository, 0, 1_000_000)


def test_reply_and_applied_change_commit_with_the_write_or_not_at_all(
        stores: Callable[[], TaskStore]) -> None:
    from tasksync.models import ItemResult, Task

    store = stores()
    task = Task(id="t1", repository="r", content="nul \x00 and é", status="pending",
                priority="low", version=1, created_at="2026-01-01T00:00:00Z",
                updated_at="2026-01-01T00:00:00Z", deleted=False, origin="client \x00 1")
    applied = AppliedChange(ItemResult(change_id="c1", task_id="t1", outcome="created", task=task),
                            "fingerprint")
    reply = StoredReply("fp", 201, b'{"id": "t1"}')

    def write() -> None:
        store.insert_task(task)
        store.append_event("task_created", task, task.created_at)
        store.record_change("client\x1fr\x1fc1", applied)
        store.save_reply("key-1", reply)

    with pytest.raises(RuntimeError), store.transaction():
        write()
        raise RuntimeError("the request failed after writing")
    assert store.get_task("t1") is None
    assert store.stored_reply("key-1") is None and store.applied_change("client\x1fr\x1fc1") is None
    assert store.log_bounds("r") == (0, 0) and whole_log(store, "r") == []

    with store.transaction():
        write()
    fresh = reopen(stores, store)
    assert fresh.get_task("t1") == task  # NUL and non-ASCII text kept as sent
    assert fresh.stored_reply("key-1") == reply
    assert fresh.applied_change("client\x1fr\x1fc1") == applied
    assert [(event.seq, event.origin) for event in whole_log(fresh, "r")] == [(1, "client \x00 1")]
    assert fresh.log_bounds("r") == (1, 1)


def test_a_savepoint_rolls_back_alone(stores: Callable[[], TaskStore]) -> None:
    from tasksync.models import Task

    store = stores()

    def task(task_id: str) -> Task:
        return Task(id=task_id, repository="r", content=task_id, status="pending",
                    priority="low", version=1, created_at="2026-01-01T00:00:00Z",
                    updated_at="2026-01-01T00:00:00Z", deleted=False, origin="o")

    with store.transaction():
        store.insert_task(task("kept"))
        store.append_event("task_created", task("kept"), "2026-01-01T00:00:00Z")
        with pytest.raises(RuntimeError), store.savepoint():
            store.insert_task(task("undone"))
            store.append_event("task_created", task("undone"), "2026-01-01T00:00:00Z")
            raise RuntimeError
        store.insert_task(task("after"))
        store.append_event("task_created", task("after"), "2026-01-01T00:00:00Z")
    fresh = reopen(stores, store)
    assert fresh.get_task("undone") is None
    # the undone event's seq was given back: no gap
    assert [(event.seq, event.task_id) for event in whole_log(fresh, "r")] == [
        (1, "kept"), (2, "after")]


async def test_seq_strictly_increases_without_gaps_under_concurrent_writers(
        writers: list[TaskService]) -> None:
    repositories = ["alpha", "beta", "gamma"]
    writes = [create(writers[n % len(writers)], repositories[n % 3], f"task {n}")
              for n in range(240)]
    created = await asyncio.gather(*writes)
    store = writers[0].store
    for repository in repositories:
        log = await asyncio.to_thread(whole_log, store, repository)
        assert [event.seq for event in log] == list(range(1, 81)), repository
        assert sorted(event.task_id for event in log) == sorted(
            task["id"] for task in created if task["repository"] == repository)
        assert await asyncio.to_thread(store.log_bounds, repository) == (1, 80)


async def test_updates_of_one_task_from_every_writer_take_turns(writers: list[TaskService]) -> None:
    task = await create(writers[0], "shared", "counter")
    updates = [writers[n % len(writers)].write(None, f"u{n}", writers[n % len(writers)].update(
        task["id"], TaskUpdate(content=f"update {n}"), None, f"writer-{n}")) for n in range(60)]
    replies = await asyncio.gather(*updates)
    assert {reply.status for reply in replies} == {200}
    versions = sorted(msgspec.json.decode(reply.body)["version"] for reply in replies)
    assert versions == list(range(2, 62))  # no two updates built on the same version
    log = await asyncio.to_thread(whole_log, writers[0].store, "shared")
    assert [(event.seq, event.version) for event in log] == [(n, n) for n in range(1, 62)]


async def test_one_if_match_version_lets_exactly_one_update_through(
        writers: list[TaskService]) -> None:
    task = await create(writers[0], "race", "contested")
    attempts = [writers[n % len(writers)].write(None, f"u{n}", writers[n % len(writers)].update(
        task["id"], TaskUpdate(content=f"winner {n}"), 1, f"writer-{n}")) for n in range(12)]
    statuses = sorted(reply.status for reply in await asyncio.gather(*attempts))
    assert statuses == [200] + [412] * 11


async def test_one_idempotency_key_on_every_writer_at_once_writes_once(
        writers: list[TaskService]) -> None:
    key = f"key-{next(_keys)}"
    replies = await asyncio.gather(*[
        writer.write(key, "same request", writer.create(
            TaskCreate(repository="keyed", content="once"), "tester"))
        for writer in writers for _ in range(4)])
    bodies = {reply.body for reply in replies}
    assert len(bodies) == 1 and {reply.status for reply in replies} == {201}
    log = await asyncio.to_thread(whole_log, writers[0].store, "keyed")
    assert len(log) == 1


def _batch(count: int, client_id: str = "bulk") -> SyncRequest:
    return SyncRequest(repository="bulk", client_id=client_id, pull_limit=0, items=[
        SyncItem(change_id=f"c{n}", task_id=f"bulk-{n:05d}",
                 task=SyncTaskFields(content=f"item {n}"))
        for n in range(count)])


async def test_a_batch_sync_of_10000_items_applies_once(writers: list[TaskService],
                                                       store_kind: str) -> None:
    service = writers[0]
    service._writes.timeout = 120  # this test is about the outcome; time is measured in bench
    request = _batch(10_000)
    started = time.perf_counter()
    reply = await service.write(None, "batch", service.batch_sync(request))
    elapsed = time.perf_counter() - started
    assert reply.status == 200
    results = msgspec.json.decode(reply.body)["results"]
    assert [result["outcome"] for result in results] == ["created"] * 10_000
    log = await asyncio.to_thread(whole_log, service.store, "bulk")
    assert [event.seq for event in log] == list(range(1, 10_001))
    # sent again (a retry, possibly to another replica): every item replays, nothing new
    again = await writers[-1].write(None, "batch", writers[-1].batch_sync(request))
    assert all(result["replayed"] for result in msgspec.json.decode(again.body)["results"])
    assert await asyncio.to_thread(service.store.log_bounds, "bulk") == (1, 10_000)
    print(f"\n{store_kind}: 10,000-item batch sync in {elapsed:.2f} s")


async def test_one_batch_on_every_writer_at_once_applies_each_change_once(
        writers: list[TaskService]) -> None:
    request = _batch(200, client_id="twice")
    replies = await asyncio.gather(*[writer.write(None, "batch", writer.batch_sync(request))
                                     for writer in writers for _ in range(2)])
    outcomes = [[result["replayed"] for result in msgspec.json.decode(reply.body)["results"]]
                for reply in replies]
    # item by item, exactly one of the sends applied it
    for item in range(200):
        assert sum(not sent[item] for sent in outcomes) == 1, item
    log = await asyncio.to_thread(whole_log, writers[0].store, "bulk")
    assert [event.seq for event in log] == list(range(1, 201))


def test_log_retention_keeps_the_newest_events(server_store: str, tmp_path: Path) -> None:
    from tasksync.models import Task

    store = open_store(server_store, tmp_path / "server.db", 5, call_timeout=10)
    try:
        for n in range(1, 13):
            task = Task(id=f"t{n}", repository="r", content="x", status="pending",
                        priority="low", version=1, created_at="2026-01-01T00:00:00Z",
                        updated_at="2026-01-01T00:00:00Z", deleted=False, origin="o")
            with store.transaction():
                store.insert_task(task)
                store.append_event("task_created", task, task.created_at)
        assert store.log_bounds("r") == (8, 12)
        assert [event.seq for event in whole_log(store, "r")] == [8, 9, 10, 11, 12]
        # a reader behind the pruned part gets a page of what is kept (the jump past its
        # cursor is how it learns to resync), not an empty page
        assert [event.seq for event in store.changes("r", 2, 3)] == [8, 9, 10]
        assert [event.seq for event in store.changes("r", 9, 2)] == [10, 11]
    finally:
        store.close()


@pytest.mark.parametrize("store_kind", ["postgresql"], indirect=True)
def test_a_database_with_a_newer_schema_is_refused(server_store: str, tmp_path: Path) -> None:
    open_store(server_store, tmp_path / "x.db", None, call_timeout=10).close()
    with psycopg.connect(server_store, autocommit=True) as connection:
        connection.execute("UPDATE tasksync_schema SET version = 99")
    with pytest.raises(StorageError, match="schema version 99, newer than"):
        open_store(server_store, tmp_path / "x.db", None, call_timeout=10)


def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    from syncbench.machine import free_port

    url = f"postgresql://tasksync@127.0.0.1:{free_port()}/nothing"
    started = time.perf_counter()
    with pytest.raises(StorageError, match="cannot reach the database at 127.0.0.1"):
        open_store(url, tmp_path / "x.db", None, call_timeout=10)
    assert time.perf_counter() - started < 15
