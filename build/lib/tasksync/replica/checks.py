"""What the protocol accepts as task fields, task ids and repository names.

Checked before anything is queued: the server would refuse the whole batch, and a change it
refuses would block the outbox forever.
"""

from __future__ import annotations

import re

import msgspec

from tasksync.models import (
    MAX_ID_CHARS,
    MAX_REPOSITORY_CHARS,
    REPOSITORY_PATTERN,
    TASK_ID_PATTERN,
    SyncTaskFields,
)
from tasksync.replica.errors import InvalidTask

_NAME = re.compile(REPOSITORY_PATTERN)
_TASK_ID = re.compile(TASK_ID_PATTERN)


def check_fields(content: str, status: str, priority: str, deleted: bool = False) -> SyncTaskFields:
    """The fields as the protocol types them; InvalidTask names the field it rejects."""
    try:
        return msgspec.convert(
            {"content": content, "status": status, "priority": priority, "deleted": deleted},
            SyncTaskFields,
        )
    except msgspec.ValidationError as exc:
        raise InvalidTask(f"invalid task: {exc}") from None


def check_task_id(task_id: str) -> str:
    """`task_id` if the protocol accepts it as an id, else InvalidTask."""
    if not (0 < len(task_id) <= MAX_ID_CHARS and _TASK_ID.match(task_id)):
        raise InvalidTask(
            f"invalid task id {task_id!r}: use 1..{MAX_ID_CHARS} letters, digits or . _ : -"
        )
    return task_id


def check_repository(name: str) -> str:
    """`name` if the protocol accepts it as a repository name, else InvalidTask."""
    if not (0 < len(name) <= MAX_REPOSITORY_CHARS and _NAME.match(name)):
        raise InvalidTask(
            f"invalid repository name {name!r}: use 1..{MAX_REPOSITORY_CHARS} letters,"
            " digits or . _ -"
        )
    return name
