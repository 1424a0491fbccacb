"""The study's own checks, pure functions over its frames and records (each linear in its input).

    expected_conflicts_reported   each cell reported as many conflicts as the model predicts
    winner_matches_strategy       each cell's winner and final value are the model's
    no_silently_lost_changes      each side's change is in the final task or a conflict record

Each failure names the cell (scenario, strategy), what was seen and expected, and the
operations of the competing writes and of the contested push.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from syncbench.studies.conflicts.records import (
    Side,
    describe,
    in_state,
    plain_record,
    short_fields,
    task_fields,
)
from syncbench.verdict import CheckResult
from tasksync.models import SyncTaskFields

TaskKey = tuple[str, str]  # (repository, task_id)


def expected_conflicts_reported(outcomes: pd.DataFrame) -> CheckResult:
    """Proves that every cell reported as many conflicts as the protocol's rules predict.

    The counterexample names each offending cell (scenario, strategy), both counts and the
    operations of the competing writes and the contested push.
    """
    bad = outcomes[outcomes["conflicts_reported"] != outcomes["expected_conflicts"]]
    counterexample = [
        {"scenario": row.scenario, "strategy": row.strategy, "repository": row.repository,
         "expected_conflicts": int(row.expected_conflicts),
         "conflicts_reported": int(row.conflicts_reported), "push_op_id": row.push_op_id,
         "op_ids": list(row.op_ids),
         "violation": f"{row.conflicts_reported} conflict(s) reported, "
                      f"{row.expected_conflicts} expected"}
        for row in bad.itertuples(index=False)
    ]
    return CheckResult(
        name="expected_conflicts_reported", passed=not counterexample,
        observed=f"{len(counterexample)} of {len(outcomes)} cells reported a wrong number",
        expected="0 cells", counterexample=counterexample,
        message=_cells_message(counterexample, "every cell reported the conflicts it should"),
    )


def winner_matches_strategy(outcomes: pd.DataFrame) -> CheckResult:
    """Proves that in every cell the strategy's side won and the task ended as it says.

    Compares the reported winners and the server's final value with the model's; the
    counterexample names the cell, both winners, both values and the operations.
    """
    counterexample = []
    for row in outcomes.itertuples(index=False):
        found = []
        if row.winner != row.expected_winner:
            found.append(f"winner {row.winner!r}, expected {row.expected_winner!r}")
        if row.final_value != row.expected_value:
            found.append(f"final {row.final_value!r}, expected {row.expected_value!r}")
        if found:
            counterexample.append({
                "scenario": row.scenario, "strategy": row.strategy,
                "repository": row.repository, "winner": row.winner,
                "expected_winner": row.expected_winner, "final_value": row.final_value,
                "expected_value": row.expected_value, "push_op_id": row.push_op_id,
                "op_ids": list(row.op_ids), "violation": "; ".join(found),
            })
    return CheckResult(
        name="winner_matches_strategy", passed=not counterexample,
        observed=f"{len(counterexample)} of {len(outcomes)} cells ended otherwise",
        expected="0 cells", counterexample=counterexample,
        message=_cells_message(counterexample, "every cell ended as its strategy says"),
    )


def no_silently_lost_changes(
    sides: Iterable[Side | Mapping[str, Any]],
    final_tasks: Mapping[TaskKey, Any],
    conflict_records: Iterable[Any],
) -> CheckResult:
    """Proves that no side's change vanished: each is in the final state or in a conflict.

    A side's change (the fields it changed against the shared base) is kept when each of
    its values is in the final task or on the `client` or `server` side of a conflict
    record for the task (`lost_fields`). `final_tasks` maps (repository, task_id) to the server's
    final task. The counterexample names the scenario, strategy, the lost side, its fields,
    its operations and the operations of the sides that overwrote it.

    Sides and records are indexed by task once, so the check is linear in their number.
    """
    records = records_by_task(conflict_records)
    by_task: dict[TaskKey, list[Side]] = defaultdict(list)
    for raw in sides:
        side = raw if isinstance(raw, Side) else Side(**raw)
        by_task[side.key].append(side)
    counterexample = []
    total = 0
    for key, task_sides in by_task.items():
        total += len(task_sides)
        final = task_fields(final_tasks.get(key))
        for side in task_sides:
            lost = lost_fields(side, final, records.get(key, ()))
            if not lost:
                continue
            overwritten_by = sorted({op for other in task_sides if other.side != side.side
                                     for op in other.op_ids})
            counterexample.append({
                "scenario": side.scenario, "strategy": side.strategy,
                "repository": side.repository, "task_id": side.task_id, "side": side.side,
                "client": side.client, "lost_fields": short_fields(lost),
                "final": describe(final), "op_ids": list(side.op_ids),
                "overwritten_by_op_ids": overwritten_by,
                "violation": f"side {side.side}'s change {short_fields(side.changed)} is "
                             "neither in the final task nor in a conflict record",
            })
    return CheckResult(
        name="no_silently_lost_changes", passed=not counterexample,
        observed=f"{len(counterexample)} of {total} side changes silently lost",
        expected="0 lost", counterexample=counterexample,
        message=_cells_message(counterexample, "every side's change is in the final state or "
                                               "a conflict record"),
    )


def records_by_task(conflict_records: Iterable[Any]) -> dict[TaskKey, list[dict[str, Any]]]:
    """Conflict records as plain dicts, indexed by (repository, task_id)."""
    index: dict[TaskKey, list[dict[str, Any]]] = defaultdict(list)
    for record in conflict_records:
        data = plain_record(record)
        index[(data.get("repository"), data.get("task_id"))].append(data)  # type: ignore[index]
    return dict(index)


def silently_lost(side: Side, final: SyncTaskFields | None,
                  records: Sequence[Mapping[str, Any]]) -> bool:
    """True when a field of `side`'s change is neither in `final` nor on a side of one of
    `records` (the conflict records of the side's task)."""
    return bool(lost_fields(side, final, records))


def lost_fields(side: Side, final: SyncTaskFields | None,
                records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The fields of `side`'s change whose value is neither in `final` nor on the `client`
    or `server` side of one of `records`.

    Field by field, not the change as a whole: a side whose offline edits meet a merge can
    keep one field in the task and lose another to the other side, where that loss is
    reported in a conflict record of one of its edits (not of its last).
    """
    if in_state(side.changed, final):
        return {}
    kept = [final, *(task_fields(record.get(part)) for record in records
                     for part in ("client", "server"))]
    return {name: value for name, value in side.changed.items()
            if not any(in_state({name: value}, fields) for fields in kept)}


def _cells_message(counterexample: list[dict[str, Any]], ok: str) -> str:
    if not counterexample:
        return ok
    shown = "; ".join(f"{c['scenario']}/{c['strategy']}: {c['violation']}"
                      for c in counterexample[:4])
    return shown + (" ..." if len(counterexample) > 4 else "")


__all__ = ["expected_conflicts_reported", "lost_fields", "no_silently_lost_changes",
           "records_by_task",
           "silently_lost", "winner_matches_strategy"]
