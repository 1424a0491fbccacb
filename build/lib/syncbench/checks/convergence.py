"""convergence: every replica and the server hold the same tasks once the run has settled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncbench.checks._common import SNAPSHOT_FIELDS, as_record, first_few
from syncbench.verdict import CheckResult


def convergence(
    states: Mapping[str, Mapping[str, Any]],
    *,
    fields: Sequence[str] = SNAPSHOT_FIELDS,
    compare_versions: bool = False,
) -> CheckResult:
    """Proves that all holders (replicas and the server) agree on every task's fields.

    `states` maps a holder name ("server", "replica-1", ...) to its tasks: {task_id:
    snapshot}, a snapshot being a dict, a Task, or a tuple (content, status, priority,
    deleted). Only `fields` are compared (plus `version` when `compare_versions`); a task
    one holder lacks compares as absent (None), so a missing tombstone counts as a
    difference. The counterexample holds one entry per differing task: its id and each
    holder's value.
    """
    compared = tuple(fields) + (("version",) if compare_versions else ())
    # each holder's task as a tuple of the compared values, in `compared` order; one dict
    # look-up per holder per task (linear in tasks x holders)
    views = {
        holder: {str(task_id): _project(snapshot, compared) for task_id, snapshot in tasks.items()}
        for holder, tasks in states.items()
    }
    task_ids = sorted({task_id for tasks in views.values() for task_id in tasks})
    differing: list[dict[str, Any]] = []
    for task_id in task_ids:
        values = [tasks.get(task_id) for tasks in views.values()]
        # repr, not ==, so 1 and 1.0 or True and 1 count as different values
        if len({repr(value) for value in values}) > 1:
            differing.append({"task_id": task_id, "values": {
                holder: None if value is None else dict(zip(compared, value, strict=True))
                for holder, value in zip(views, values, strict=True)}})

    holders = len(views)
    message = (
        f"all {holders} holders hold identical {', '.join(compared)} for every task"
        if not differing
        else f"tasks that differ: {first_few(differing, lambda d: d['task_id'], 10, ', ')}"
    )
    return CheckResult.from_counterexample(
        "convergence", differing,
        observed=f"{len(differing)} of {len(task_ids)} tasks differ across {holders} holders",
        expected="0 differing tasks", message=message)


def _project(snapshot: Any, compared: Sequence[str]) -> tuple[Any, ...]:
    record = snapshot if isinstance(snapshot, Mapping) else as_record(snapshot)
    return tuple([record.get(name) for name in compared])
