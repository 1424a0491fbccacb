"""no_duplicates_from_retries: one logical create never yields two tasks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import pandas as pd

from syncbench.checks._common import first_few, op_dict, tasks_by_id
from syncbench.history import History, Operation, operations_of
from syncbench.verdict import CheckResult

CREATE_OPERATIONS: frozenset[str] = frozenset({"create"})


def task_content(task: Mapping[str, Any]) -> str | None:
    """The default logical key of a stored task: its content."""
    content = task.get("content")
    return None if content is None else str(content)


def content_key(content: str) -> str:
    """The logical key a task's content starts with (one key per logical create: the
    workloads write `<key> <words>` and updates keep the key)."""
    return content.split(" ", 1)[0]


def create_key(op: Operation) -> str | None:
    """The default logical key of a create: its `key` argument, else its `content`."""
    key = op.args.get("key", op.args.get("content"))
    return None if key is None else str(key)


def no_duplicates_from_retries(
    history: History | pd.DataFrame | Iterable[Operation],
    final_server_tasks: Mapping[str, Any] | Iterable[Any],
    *,
    task_key: Callable[[Mapping[str, Any]], str | None] = task_content,
    op_key: Callable[[Operation], str | None] = create_key,
    create_operations: Collection[str] = CREATE_OPERATIONS,
) -> CheckResult:
    """Proves that no logical create produced more than one server task.

    The workload gives each logical create a unique client-chosen key, carried by the create
    (`op_key`, default: its `key` or `content` argument) and visible on the stored task
    (`task_key`, default: its content; pass your own when updates rewrite the content).
    Whatever the completions (`ok`, `info` or several re-invocations of the same logical
    create after timeouts), a key may name at most one task: an `info` create appears once
    or not at all, never twice. Tombstones count, since a duplicate deleted later still was
    created twice.

    The counterexample has, per duplicated key, the create operations that carry it (each
    with `key` and the `task_ids` found), or one entry naming the key and task ids when no
    recorded create carries it.
    """
    # A task per key, and lists only for the (rare) keys naming several: no list per key,
    # and the history is read only when there is a duplicate to show.
    first_task: dict[str, str] = {}
    more: dict[str, list[str]] = {}
    for task_id, task in tasks_by_id(final_server_tasks).items():
        key = task_key(task)
        if key is None:
            continue
        first = first_task.setdefault(key, task_id)
        if first != task_id:
            more.setdefault(key, [first]).append(task_id)
    duplicated = {key: sorted(more[key]) for key in first_task if key in more} if more else {}

    creates_for_key: dict[str, list[Operation]] = defaultdict(list)
    if duplicated:
        for op in operations_of(history, only=create_operations):
            key = op_key(op)
            if key in duplicated:
                creates_for_key[key].append(op)

    counterexample: list[dict[str, Any]] = []
    for key in sorted(duplicated):
        task_ids = duplicated[key]
        violation = f"key {key!r} names {len(task_ids)} tasks: {', '.join(task_ids)}"
        ops = creates_for_key.get(key, [])
        if not ops:
            counterexample.append({"key": key, "task_ids": task_ids, "violation": violation})
        for op in ops:
            counterexample.append(op_dict(op, key=key, task_ids=task_ids, violation=violation))

    extra = sum(len(ids) - 1 for ids in duplicated.values())
    message = first_few(list(duplicated.items()), lambda item: f"{item[0]!r}: {len(item[1])} tasks")
    return CheckResult.from_counterexample(
        "no_duplicates_from_retries", counterexample,
        observed=(f"{len(duplicated)} duplicated keys ({extra} extra tasks) "
                  f"among {len(first_task)} keys"),
        expected="0 duplicated keys",
        message=message or "every logical key names at most one task")
