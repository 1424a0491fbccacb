"""conditional_writes: an acknowledged If-Match write was based on the version then current."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from syncbench.checks._common import first_few, frame_rows, op_dict
from syncbench.history import OK, History, Operation, operations_of
from syncbench.verdict import CheckResult

ANOMALIES: tuple[str, ...] = ("same_base_twice", "not_current")


def conditional_writes(history: History | pd.DataFrame | Iterable[Operation],
                       observations: Any = None) -> CheckResult:
    """Proves that every `ok` If-Match write applied to the version it named, and only once.

    Input: the run's History (or its `to_frame` DataFrame, or its operations). A conditional
    write is an operation completed `ok` whose args carry `if_match` (the If-Match version
    sent with a PATCH or DELETE) and a task (`task_id` from the response, else the args).
    Its result is its reply's version: from the `observations` frame when given (the write
    rows of that op_id for that task, which also give content and deleted), else the
    operation's own `version`. The server answers a stale If-Match with 412 (then the op is
    `fail`, and not checked), so an `ok` one found its version current and either applied
    (result if_match + 1) or changed nothing (result if_match: an empty patch, a delete of
    a tombstone). Anomalies (ANOMALIES):

        same_base_twice  two ok writes of one task named the same If-Match version, both
                         applied (result if_match + 1), and are not one application seen
                         twice (their results differ in content or deleted): both cannot
                         have found it current (a write that changed nothing claims nothing)
        not_current      an ok If-Match write whose result is neither if_match nor
                         if_match + 1: it was applied to another version than it named

    Two writes with the same result (same version, same state) may be a request re-sent
    with its idempotency key, so they pass. The counterexample holds one entry per anomaly
    with `why` and the `ops` that show it (each with its `reply` row when observations were
    given). No ok If-Match write with a known result: `unknown`.
    """
    replies = _replies(observations)
    checked = 0
    entries: list[dict[str, Any]] = []
    first_by_base: dict[tuple[str, int], tuple[Operation, tuple[Any, ...]]] = {}
    for op in operations_of(history, outcome=OK):
        if_match, task = op.args.get("if_match"), op.task_id or op.args.get("task_id")
        if if_match is None or task is None:
            continue
        reply = replies.get((op.op_id, str(task)))
        version = reply["version"] if reply else op.version
        if version is None:
            continue
        checked += 1
        base = int(if_match)
        result = (version, *((reply.get("content"), bool(reply.get("deleted")))
                             if reply else ()))
        if version not in (base, base + 1):
            entries.append({"anomaly": "not_current", "task_id": str(task), "why": (
                f"op {op.op_id} named If-Match {base} of {task} and got version {version}"),
                "ops": [op_dict(op, reply=reply)]})
        if version != base + 1:
            continue  # changed nothing (or already reported): no claim on the base
        earlier = first_by_base.setdefault((str(task), base), (op, result))
        if earlier[0] is not op and earlier[1] != result:
            entries.append({"anomaly": "same_base_twice", "task_id": str(task), "why": (
                f"ops {earlier[0].op_id} and {op.op_id} both wrote {task} on If-Match {base}"),
                "ops": [op_dict(earlier[0], reply=replies.get((earlier[0].op_id, str(task)))),
                        op_dict(op, reply=reply)]})
    if not checked:
        return CheckResult.not_reached(
            "conditional_writes", "no If-Match write was acknowledged with a known version")
    entries.sort(key=lambda entry: ANOMALIES.index(entry["anomaly"]))
    counts = ", ".join(f"{sum(e['anomaly'] == name for e in entries)} {name}"
                       for name in ANOMALIES)
    message = ("every acknowledged If-Match write applied to the version it named, once"
               if not entries else first_few(entries, lambda e: f"{e['anomaly']}: {e['why']}"))
    return CheckResult.from_counterexample(
        "conditional_writes", entries,
        observed=f"{counts} in {checked} acknowledged If-Match writes",
        expected="0 anomalies", message=message)


def _replies(observations: Any) -> dict[tuple[int, str], dict[str, Any]]:
    """(op_id, task_id) -> the write row with the highest version (a write's own reply)."""
    found: dict[tuple[int, str], dict[str, Any]] = {}
    if observations is None:
        return found
    for row in frame_rows(observations, ("op_id", "version")):
        if row.get("kind") != "write" or row.get("version") is None:
            continue
        key = (row["op_id"], str(row["task_id"]))
        if key not in found or row["version"] > found[key]["version"]:
            found[key] = row
    return found
