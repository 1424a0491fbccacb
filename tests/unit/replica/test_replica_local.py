"""Local operations of a replica: they work with no server and queue one outbox row each."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tasksync.models import SyncTaskFields
from tasksync.replica import (
    AmbiguousTaskId,
    ClientIdMismatch,
    InvalidTask,
    Replica,
    TaskDeleted,
    TaskExists,
    TaskNotFound,
)


@pytest.fixture
def replica(tmp_path):
    with Replica(tmp_path / "replica.db", client_id="alice") as replica:
        yield replica


def test_add_gives_a_uuid4_hex_id_and_queues_a_new_task(replica):
    task = replica.add("write the report")

    assert len(task.id) == 32 and int(task.id, 16) >= 0
    assert (task.content, task.status, task.priority, task.version) == (
        "write the report", "pending", "medium", 0
    )
    [change] = replica.pending_changes()
    assert change.task_id == task.id
    assert change.base_version == 0 and change.base is None
    assert change.task.content == "write the report"


def test_add_with_a_given_id_and_fields(replica):
    task = replica.add("ship it", task_id="t-1", priority="high", status="in_progress")

    assert replica.get("t-1") == task
    assert (task.priority, task.status) == ("high", "in_progress")


def test_add_with_an_existing_id_is_refused_and_queues_nothing(replica):
    replica.add("first", task_id="t-1")

    with pytest.raises(TaskExists):
        replica.add("second", task_id="t-1")
    assert replica.pending_count() == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": "later"},
        {"priority": "urgent"},
        {"task_id": "has space"},
        {"task_id": "x" * 200},
    ],
)
def test_add_refuses_values_the_server_would_reject(replica, kwargs):
    with pytest.raises(InvalidTask):
        replica.add("content", **kwargs)
    assert replica.pending_count() == 0
    assert replica.list(include_deleted=True) == []


def test_edit_changes_only_the_given_fields_and_queues_a_change(replica):
    task = replica.add("draft", task_id="t-1")

    edited = replica.edit(task.id, content="final", priority="low")

    assert (edited.content, edited.status, edited.priority) == ("final", "pending", "low")
    assert edited.unsynced == 2
    last = replica.pending_changes()[-1]
    assert last.task.content == "final" and last.task.priority == "low"


def test_edit_that_changes_nothing_queues_nothing(replica):
    replica.add("same", task_id="t-1")

    replica.edit("t-1", content="same", status="pending")

    assert replica.pending_count() == 1


def test_edit_of_an_unknown_task_raises_task_not_found(replica):
    with pytest.raises(TaskNotFound):
        replica.edit("nope", content="x")


def test_edit_refuses_an_invalid_status(replica):
    replica.add("x", task_id="t-1")
    with pytest.raises(InvalidTask):
        replica.edit("t-1", status="finished")
    assert replica.get("t-1").status == "pending"


def test_done_marks_the_task_completed(replica):
    replica.add("x", task_id="t-1")

    assert replica.done("t-1").status == "completed"
    assert replica.pending_changes()[-1].task.status == "completed"


def test_rm_leaves_a_tombstone_hidden_from_list_unless_asked(replica):
    replica.add("keep", task_id="keep")
    replica.add("drop", task_id="drop")

    tombstone = replica.rm("drop")

    assert tombstone.deleted
    assert [task.id for task in replica.list()] == ["keep"]
    assert [task.id for task in replica.list(include_deleted=True)] == ["keep", "drop"]
    assert replica.pending_changes()[-1].task.deleted is True


def test_rm_twice_queues_one_deletion(replica):
    replica.add("drop", task_id="drop")
    replica.rm("drop")
    replica.rm("drop")

    assert replica.pending_count() == 2  # the add and one deletion


def test_edit_of_a_tombstone_raises_task_deleted(replica):
    replica.add("drop", task_id="drop")
    replica.rm("drop")

    with pytest.raises(TaskDeleted):
        replica.edit("drop", content="revive")


def test_every_change_of_a_task_is_its_own_outbox_row_in_order(replica):
    replica.add("a", task_id="t-1")
    replica.edit("t-1", content="b")
    replica.done("t-1")
    replica.rm("t-1")

    changes = replica.pending_changes()

    assert [change.change_id for change in changes] == [
        "alice:1", "alice:2", "alice:3", "alice:4"
    ]
    assert [(c.task.content, c.task.status, c.task.deleted) for c in changes] == [
        ("a", "pending", False),
        ("b", "pending", False),
        ("b", "completed", False),
        ("b", "completed", True),
    ]
    # None of them has been acknowledged: each edit started from "no server version yet".
    assert {change.base_version for change in changes} == {0}


def test_change_counter_and_outbox_survive_reopening_the_file(tmp_path):
    path = tmp_path / "replica.db"
    with Replica(path, client_id="alice") as first:
        first.add("one", task_id="t-1")
    with Replica(path) as reopened:
        assert reopened.client_id == "alice"
        reopened.add("two", task_id="t-2")
        assert [c.change_id for c in reopened.pending_changes()] == ["alice:1", "alice:2"]


def test_client_id_is_generated_once_and_stored(tmp_path):
    path = tmp_path / "replica.db"
    with Replica(path) as first:
        generated = first.client_id
    with Replica(path) as second:
        assert second.client_id == generated
    assert len(generated) == 32


def test_opening_with_another_client_id_is_refused(tmp_path):
    path = tmp_path / "replica.db"
    Replica(path, client_id="alice").close()

    with pytest.raises(ClientIdMismatch):
        Replica(path, client_id="bob")


def test_the_replica_file_uses_wal(tmp_path):
    path = tmp_path / "replica.db"
    Replica(path).close()

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_updated_at_comes_from_the_injected_clock(tmp_path):
    skewed = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    with Replica(tmp_path / "r.db", clock=lambda: skewed) as replica:
        task = replica.add("from the future")
    assert task.updated_at == "2030-01-02T03:04:05.678901Z"


def test_a_clock_in_another_zone_is_written_as_utc(tmp_path):
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2030, 1, 2, 12, 0, 0, tzinfo=plus_two)
    with Replica(tmp_path / "r.db", clock=lambda: moment) as replica:
        assert replica.add("x").updated_at == "2030-01-02T10:00:00.000000Z"


def test_tasks_snapshot_includes_tombstones(replica):
    replica.add("a", task_id="t-1", priority="high")
    replica.add("b", task_id="t-2")
    replica.rm("t-2")

    tasks = replica.tasks()
    assert list(tasks) == ["t-1", "t-2"]
    assert (tasks["t-1"].fields, tasks["t-1"].version) == (SyncTaskFields(content="a", priority="high"), 0)
    assert (tasks["t-2"].fields, tasks["t-2"].version) == (SyncTaskFields(content="b", deleted=True), 0)
    assert tasks["t-2"] == replica.get("t-2")  # the same records get() and list() give


def test_find_accepts_a_unique_id_prefix(replica):
    replica.add("a", task_id="abc123")
    replica.add("b", task_id="abd456")

    assert replica.find("abc").id == "abc123"
    assert replica.find("abd456").id == "abd456"
    with pytest.raises(AmbiguousTaskId) as ambiguous:
        replica.find("ab")
    assert ambiguous.value.matches == ["abc123", "abd456"]
    with pytest.raises(TaskNotFound):
        replica.find("ABC")  # ids are case-sensitive


def test_repositories_in_one_file_are_kept_apart(tmp_path):
    path = tmp_path / "replica.db"
    with Replica(path, repository="work") as work, Replica(path, repository="home") as home:
        work.add("report", task_id="w-1")
        home.add("groceries", task_id="h-1")

        assert [task.id for task in work.list()] == ["w-1"]
        assert [task.id for task in home.list()] == ["h-1"]
        assert work.pending_count() == 1 and home.pending_count() == 1
        with pytest.raises(TaskNotFound):
            work.get("h-1")


def test_an_invalid_repository_name_is_refused(tmp_path):
    with pytest.raises(InvalidTask):
        Replica(tmp_path / "r.db", repository="not a name")


def test_conflicts_and_cursor_start_empty(replica):
    assert replica.conflicts() == []
    assert replica.cursor() == 0
