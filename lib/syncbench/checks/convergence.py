"""convergence: every replica and the server hold the same tasks once the run has settled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncbench.checks._common import SNAPSHOT_FIELDS, as_record
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
    views = {
        holder: {str(task_id): _project(snapshot, compared) for task_id, snapshot in tasks.items()}
        for holder, tasks in states.items()
    }
    task_ids = sorted({task_id for tasks in views.values() for task_id in tasks})
    differing: list[dict[str, Any]] = []
    for task_id in task_ids:
        values = {holder: tasks.get(task_id) for holder, tasks in views.items()}
        distinct = {repr(sorted(v.items())) if v is not None else None for v in values.values()}
        if len(distinct) > 1:
            differing.append({"task_id": task_id, "values": values})

    holders = len(views)
    observed = f"{len(differing)} of {len(task_ids)} tasks differ across {holders} holders"
    message = (
        f"all {holders} holders hold identical {', '.join(compared)} for every task"
        if not differing
        else f"tasks that differ: {', '.join(d['task_id'] for d in differing[:10])}"
        + (" ..." if len(differing) > 10 else "")
    )
    return CheckResult(
        name="convergence",
        passed=not differing,
        observed=observed,
        expected="0 differing tasks",
        message=message,
        counterexample=differing,
    )


def _project(snapshot: Any, compared: Sequence[str]) -> dict[str, Any]:
    record = as_record(snapshot)
    return {name: record.get(name) for name in compared}
