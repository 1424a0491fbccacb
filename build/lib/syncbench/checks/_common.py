"""What the checks share: turning tasks, snapshots and operations into plain comparable dicts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec

from syncbench.history import Operation

# The fields a snapshot tuple carries, in order: (content, status, priority, deleted).
SNAPSHOT_FIELDS: tuple[str, ...] = ("content", "status", "priority", "deleted")

T = TypeVar("T")


def as_record(value: Any) -> dict[str, Any]:
    """A task or snapshot as a dict: msgspec Struct, dataclass-like object, dict or tuple."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.asdict(value)
    if isinstance(value, tuple | list):
        return dict(zip(SNAPSHOT_FIELDS, value, strict=False))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # fields one level deep only: nested Structs (a conflict's sides) stay objects
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(value, "__dict__"):
        return dict(vars(value))
    raise TypeError(f"cannot read a task from {type(value).__name__}: give a dict, Task or tuple")


def tasks_by_id(tasks: Mapping[str, Any] | Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Tasks keyed by id, from a {task_id: task} mapping or an iterable of tasks with `id`."""
    # dicts are read as they are (the checks only read them): no copy per task
    if isinstance(tasks, Mapping):
        return {str(task_id): task if type(task) is dict else as_record(task)
                for task_id, task in tasks.items()}
    result: dict[str, dict[str, Any]] = {}
    for task in tasks:
        record = task if type(task) is dict else as_record(task)
        result[str(record["id"])] = record
    return result


def first_few(entries: Sequence[T], describe: Callable[[T], str], shown: int = 5,
              sep: str = "; ") -> str:
    """The first `shown` entries described and joined by `sep`, then " ..." if there are more
    ("" for no entries), so a failed check's message stays one readable line."""
    text = sep.join(describe(entry) for entry in entries[:shown])
    return text + (" ..." if len(entries) > shown else "")


def op_dict(op: Operation, **extra: Any) -> dict[str, Any]:
    """An operation as a counterexample entry, with `extra` explaining what it shows."""
    data = op.to_dict()
    data.update(extra)
    return data


def frame_rows(data: Any, int_columns: Collection[str] = ()) -> list[dict[str, Any]]:
    """The rows of a recorded frame as plain dicts (a DataFrame, or an iterable of dicts).

    Missing values (NaN, NaT, None) become None, and `int_columns` holding a number become
    int (a column of ints with a gap in it reads back from CSV as floats), so a row can be
    put in a counterexample as it is. One pass over the frame: runs have 100k rows.
    """
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        rows = data.astype(object).where(data.notna(), None).to_dict("records")
    else:
        rows = [dict(row) for row in data]
    present = [name for name in int_columns if rows and name in rows[0]]
    for row in rows:
        for name in present:
            value = row[name]
            if value is not None and not isinstance(value, int):
                row[name] = int(value)
    return rows
