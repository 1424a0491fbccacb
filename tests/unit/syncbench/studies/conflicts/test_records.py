"""Reading tasks in every shape they arrive in, in one place."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from syncbench.studies.conflicts import describe
from syncbench.studies.conflicts.records import short_text, task_fields
from tasksync.models import SyncTaskFields

WANTED = SyncTaskFields(content="x", status="completed", priority="high", deleted=True)


@dataclass(frozen=True)
class NamedTask:  # what Replica.tasks() returns as named records
    id: str
    content: str
    status: str
    priority: str
    deleted: bool
    version: int


@pytest.mark.parametrize("task", [
    {"id": "t", "content": "x", "status": "completed", "priority": "high", "deleted": True},
    NamedTask("t", "x", "completed", "high", True, 3),
    WANTED,
])
def test_task_fields_reads_dicts_records_and_fields(task) -> None:
    assert task_fields(task) == WANTED


def test_no_task_or_an_empty_one_is_none() -> None:
    assert task_fields(None) is None and task_fields({}) is None
    assert describe(None) == "(absent)"


def test_an_unreadable_task_is_refused() -> None:
    with pytest.raises(TypeError, match="int"):
        task_fields(3)


def test_a_maximal_content_is_described_by_its_start_length_and_digest() -> None:
    long, other = "A " + "x" * 65_534, "A " + "x" * 65_533 + "y"
    assert short_text("short") == "short"
    assert "[65536 chars, #" in short_text(long) and len(short_text(long)) < 80
    assert short_text(long) != short_text(other)  # a difference in the tail still shows
    assert describe(SyncTaskFields(content=long)).startswith(short_text(long))
