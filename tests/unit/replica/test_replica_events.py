"""Server events applied to a replica's file: duplicates, holes and protected tasks."""

from __future__ import annotations

import pytest

from tasksync.models import ChangeEvent, Task
from tasksync.replica.local import LocalStore

NOW = "2026-01-01T00:00:00.000000Z"


def event(seq: int, task_id: str, version: int, content: str, repository: str = "default"):
    task = Task(
        id=task_id, repository=repository, content=content, version=version,
        created_at=NOW, updated_at=NOW, origin="bob",
    )
    return ChangeEvent(
        repository=repository, seq=seq, type="task_updated", task_id=task_id, version=version,
        task=task, origin="bob", timestamp=NOW,
    )


@pytest.fixture
def store(tmp_path):
    store = LocalStore(tmp_path / "replica.db", client_id="alice")
    yield store
    store.close()


def test_duplicate_events_are_dropped_by_seq(store):
    assert store.apply_events("default", [event(1, "t-1", 1, "a")]) == 1
    assert store.apply_events("default", [event(1, "t-1", 1, "a")]) == 0
    assert store.cursor("default") == 1


def test_an_older_version_never_replaces_a_newer_one(store):
    store.apply_events("default", [event(1, "t-1", 2, "newer")])
    store.apply_events("default", [event(2, "t-1", 1, "older")])

    assert store.get("default", "t-1").content == "newer"


def test_the_cursor_stops_before_a_missed_event(store):
    store.apply_events("default", [event(1, "t-1", 1, "a")])

    changed = store.apply_events("default", [event(3, "t-2", 1, "b"), event(4, "t-2", 2, "c")])

    assert changed == 2 and store.get("default", "t-2").content == "c"
    assert store.cursor("default") == 1  # seq 2 never arrived: the next sync pulls it


def test_events_of_other_repositories_are_ignored(store):
    assert store.apply_events("default", [event(1, "t-9", 1, "x", repository="other")]) == 0
    assert store.list("default", include_deleted=True) == []


def test_a_task_with_a_queued_change_keeps_its_local_view(store):
    store.add("default", "mine", task_id="t-1", updated_at=NOW)

    assert store.apply_events("default", [event(1, "t-1", 1, "theirs")]) == 0
    assert store.get("default", "t-1").content == "mine"


def test_a_full_state_listing_moves_tasks_and_the_cursor_forward(store):
    store.apply_events("default", [event(1, "t-1", 1, "a")])
    listing = [event(9, "t-1", 3, "latest").task, event(9, "t-2", 1, "new").task]

    assert store.apply_full_state("default", listing, cursor=9) == 2
    assert [(t.id, t.content, t.version) for t in store.list("default", include_deleted=True)] == [
        ("t-1", "latest", 3),
        ("t-2", "new", 1),
    ]
    assert store.cursor("default") == 9
