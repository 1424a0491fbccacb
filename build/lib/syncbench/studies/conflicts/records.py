"""What the study reads and records: tasks and conflicts as plain fields, and each side's change.

Tasks arrive in several shapes: the server's task dicts, a replica's tasks (`Replica.tasks()`
values: named records with attributes, or older (content, status, priority, deleted, version)
tuples), SyncTaskFields. `task_fields` is the one place that reads them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from syncbench.studies.conflicts.model import EDIT_FIELDS
from tasksync.models import SyncTaskFields

# The order of a task tuple (Replica.tasks() before it returned named records).


def task_fields(value: Any) -> SyncTaskFields | None:
    """The editable fields of a task: a dict, a record with attributes (Task, LocalTask) or
    SyncTaskFields; None for no task."""
    if value is None or isinstance(value, SyncTaskFields):
        return value
    data: Mapping[str, Any]
    if isinstance(value, Mapping):
        data = value
    elif hasattr(value, "content"):
        data = {name: getattr(value, name) for name in EDIT_FIELDS if hasattr(value, name)}
    else:
        raise TypeError(f"cannot read a task from {type(value).__name__}")
    if not data:
        return None
    return SyncTaskFields(content=data.get("content", ""), status=data.get("status", "pending"),
                          priority=data.get("priority", "medium"),
                          deleted=bool(data.get("deleted", False)))


def plain_record(value: Any) -> dict[str, Any]:
    """A conflict (server Conflict, replica ConflictRecord or dict) as plain data."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return dict(vars(value))


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value


def in_state(changed: Mapping[str, Any], fields: SyncTaskFields | None) -> bool:
    """True when `fields` hold every value of `changed`."""
    return fields is not None and all(getattr(fields, k) == v for k, v in changed.items())


@dataclass
class Side:
    """One side's net change to a contested task (its last intent against the shared base)."""

    scenario: str
    strategy: str
    repository: str
    task_id: str
    side: str  # "A", "B" or "C"
    client: str
    changed: dict[str, Any]
    op_ids: list[int] = field(default_factory=list)
    last_edit_time: float = 0.0  # wall clock of the side's last local write

    @property
    def key(self) -> tuple[str, str]:
        return (self.repository, self.task_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "strategy": self.strategy,
            "repository": self.repository, "task_id": self.task_id, "side": self.side,
            "client": self.client, "changed": dict(self.changed), "op_ids": list(self.op_ids),
            "last_edit_time": self.last_edit_time,
        }


# Longer contents (generated contests write the maximal 65,536 characters) are shown by
# their start, length and a digest: two that differ anywhere still read differently.
SHOWN_CHARS = 80


def short_text(value: Any) -> Any:
    """`value` itself, or a long string as "start…[N chars, #digest]"."""
    if not isinstance(value, str) or len(value) <= SHOWN_CHARS:
        return value
    digest = hashlib.sha1(value.encode()).hexdigest()[:10]
    return f"{value[:32]}…[{len(value)} chars, #{digest}]"


def short_fields(changed: Mapping[str, Any]) -> dict[str, Any]:
    """A side's changed fields with long contents shortened (for frames and witnesses)."""
    return {name: short_text(value) for name, value in changed.items()}


def describe(fields: SyncTaskFields | None) -> str:
    """A task's fields in one short line: "content [status, priority]" (+ " deleted"); a
    long content by its start, length and digest (`short_text`)."""
    if fields is None:
        return "(absent)"
    text = f"{short_text(fields.content)} [{fields.status}, {fields.priority}]"
    return text + " deleted" if fields.deleted else text


def short_label(fields: SyncTaskFields | None, token: str = "") -> str:
    """A final value for a chart cell: the content without the cell's token, and only the
    fields that differ from a new task's ("A3, completed, high", "base, deleted")."""
    if fields is None:
        return "(absent)"
    content = short_text(fields.content)
    parts = [content.replace(f" {token}", "") if token else content]
    parts += [value for value, default in ((fields.status, "pending"),
                                            (fields.priority, "medium")) if value != default]
    return ", ".join(parts + (["deleted"] if fields.deleted else []))


__all__ = ["SHOWN_CHARS", "Side", "describe", "in_state", "plain_record", "short_fields",
           "short_label", "short_text", "task_fields"]
