"""Reading tasks in every shape they arrive in, in one place."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from syncbench.studies.conflicts import describe
from syncbench.studies.conflicts.records import task_fields
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
