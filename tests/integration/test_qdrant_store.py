"""The Qdrant store's own promises, on local mode: a commit whose journal point was stored
but never applied (a crash in between) is applied at the next open, and one folder takes one
writer, refusing a second with what to do."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import models

from tasksync.models import Task
from tasksync.store.base import StorageError, StoredReply
from tasksync.store.opening import open_store
from tasksync.store.qdrant import QdrantStore


class Crash(Exception):
    """Stands for the process dying: the transaction is abandoned where it was."""


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("QDRANT_URL", raising=False)  # "qdrant" is local mode here
    return tmp_path / "server.db"


@pytest.fixture
def opened() -> Iterator[list[QdrantStore]]:
    stores: list[QdrantStore] = []
    yield stores
    for store in stores:
        store.close()


def open_qdrant(db_path: Path, opened: list[QdrantStore]) -> QdrantStore:
    store = open_store("qdrant", db_path, None, call_timeout=10)
    assert isinstance(store, QdrantStore)
    opened.append(store)
    return store


def task(task_id: str) -> Task:
    return Task(id=task_id, repository="r", content=task_id, status="pending", priority="low",
                version=1, created_at="2026-01-01T00:00:00Z",
                updated_at="2026-01-01T00:00:00Z", deleted=False, origin="o")


def create(store: QdrantStore, task_id: str) -> None:
    store.insert_task(task(task_id))
    store.append_event("task_created", task(task_id), "2026-01-01T00:00:00Z")


def test_a_commit_journaled_but_not_applied_is_applied_at_the_next_open(
        db_path: Path, opened: list[QdrantStore]) -> None:
    store = open_qdrant(db_path, opened)
    with store.transaction():
        create(store, "before")
    reply = StoredReply("fp", 201, b'{"id": "cut-off"}')
    with pytest.raises(Crash), store.transaction():
        create(store, "cut-off")
        store.save_reply("key", reply)
        # the commit's first step, through the store's own journal, and then the crash
        store.documents.write_journal(store.documents.pending())
        raise Crash
    assert store.get_task("cut-off") is None  # journaled, not applied
    store.close()

    fresh = open_qdrant(db_path, opened)
    assert fresh.get_task("cut-off") == task("cut-off")
    assert fresh.stored_reply("key") == reply
    assert [(event.seq, event.task_id) for event in fresh.changes("r", 0, 100)] == [
        (1, "before"), (2, "cut-off")]
    assert fresh.log_bounds("r") == (1, 2)
    assert [found.id for found in fresh.list_tasks("r", 0, 10, False)[0]] == ["before",
                                                                              "cut-off"]
    assert fresh.documents.replay() == 0  # the journal was emptied once applied
    with fresh.transaction():
        create(fresh, "after")
    assert [event.seq for event in fresh.changes("r", 0, 100)] == [1, 2, 3]  # no gap


def test_a_journal_found_after_newer_commits_applied_is_dropped_not_replayed(
        db_path: Path, opened: list[QdrantStore]) -> None:
    """A journal write that timed out may land after the replay that followed it; commits
    made since must not be undone by it at the next open (it would hand out seqs again)."""
    store = open_qdrant(db_path, opened)
    with pytest.raises(Crash), store.transaction():
        create(store, "late")
        late = store.documents.pending()
        raise Crash
    documents = store.documents
    documents.write_journal(late)
    journal = documents.name("journal")
    points, _ = documents.client.scroll(journal, limit=10, with_payload=True,
                                        with_vectors=False)
    assert documents.replay() == 1  # as after the failed write: applied before anything else
    for name in ("newer-1", "newer-2"):
        with store.transaction():
            create(store, name)
    # the same journal point landing again (its delayed write), older than the mark
    documents.client.upsert(journal, points=[
        models.PointStruct(id=point.id, vector={}, payload=point.payload) for point in points])
    store.close()

    fresh = open_qdrant(db_path, opened)
    assert [(event.seq, event.task_id) for event in fresh.changes("r", 0, 100)] == [
        (1, "late"), (2, "newer-1"), (3, "newer-2")]
    assert fresh.log_bounds("r") == (1, 3)
    with fresh.transaction():
        create(fresh, "after")
    assert fresh.log_bounds("r") == (1, 4)


def test_a_second_store_on_the_same_local_folder_is_refused_with_what_to_do(
        db_path: Path, opened: list[QdrantStore]) -> None:
    open_qdrant(db_path, opened)
    with pytest.raises(StorageError, match="is used by another server; local mode is one "
                       "writer: give each server its own --db, or run a Qdrant server and "
                       "set QDRANT_URL"):
        open_qdrant(db_path, opened)


def test_an_unreachable_qdrant_server_is_waited_for_then_a_clear_error(tmp_path: Path) -> None:
    from syncbench.machine import free_port

    started = time.monotonic()
    with pytest.raises(StorageError, match=r"cannot reach the qdrant server at "
                       r"http://127\.0\.0\.1:\d+ within 1 s .*start Qdrant there"):
        open_store(f"qdrant+http://127.0.0.1:{free_port()}", tmp_path / "x.db", None,
                   call_timeout=2, start_wait=1)
    assert 1 <= time.monotonic() - started < 10
