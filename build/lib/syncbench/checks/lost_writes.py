"""no_lost_acknowledged_writes: a write the server acknowledged is never lost afterwards."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import pandas as pd

from syncbench.checks._common import first_few, op_dict, tasks_by_id
from syncbench.history import OK, History, Operation, operations_of
from syncbench.verdict import CheckResult

WRITE_OPERATIONS: frozenset[str] = frozenset({"create", "update", "delete"})


def no_lost_acknowledged_writes(
    history: History | pd.DataFrame | Iterable[Operation],
    final_server_tasks: Mapping[str, Any] | Iterable[Any],
    *,
    write_operations: Collection[str] = WRITE_OPERATIONS,
) -> CheckResult:
    """Proves that every write completed `ok` is still reflected in the server's final state.

    Conservative by design, so that a failure is always a real loss: for each `ok`
    operation in `write_operations` with a known task id (from the response, else from its
    `task_id` argument), the task must exist in `final_server_tasks` (tombstones count:
    a later delete is not a loss), and when the response carried a version v the final
    version must be >= v (versions only grow; a lower one means the write was rolled
    back). `fail` and `info` writes prove nothing here and are not checked. Acknowledged
    writes without a task id cannot be checked and are counted in the message.

    The counterexample lists exactly the acknowledged writes that are lost, each with the
    final state it was checked against (`final`: None when the task is absent).
    """
    final = tasks_by_id(final_server_tasks)
    acknowledged = operations_of(history, only=write_operations, outcome=OK)
    lost: list[dict[str, Any]] = []
    unverifiable = 0
    for op in acknowledged:
        task_id = op.task_id or op.args.get("task_id")
        if task_id is None:
            unverifiable += 1
            continue
        task = final.get(str(task_id))
        if task is None:
            lost.append(op_dict(op, final=None, violation=f"task {task_id} is absent"))
            continue
        final_version = task.get("version")
        if op.version is not None and final_version is not None and final_version < op.version:
            lost.append(
                op_dict(
                    op,
                    final={"version": final_version, "deleted": task.get("deleted")},
                    violation=(
                        f"acknowledged version {op.version} of {task_id}, "
                        f"final version is {final_version}"
                    ),
                )
            )

    checked = len(acknowledged) - unverifiable
    message = "every acknowledged write is reflected in the final state"
    if lost:
        message = f"lost: {first_few(lost, lambda entry: entry['violation'], sep=', ')}"
    if unverifiable:
        message += f"; {unverifiable} acknowledged write(s) carried no task id and were not checked"
    return CheckResult.from_counterexample(
        "no_lost_acknowledged_writes", lost,
        observed=f"{len(lost)} lost of {checked} acknowledged", expected="0 lost", message=message)
