"""A failing generated run, shrunk: the fewest operations and fault windows that still fail.

The first failing check of a generated run names what to keep failing. Each trial plays a
candidate schedule on a fresh stack under the one profile the check failed in, and asks
whether that check fails again. Two cheap cuts go first, then ddmin (syncbench.shrink):

1. the prefix up to the last operation the counterexample names (what ran after the
   witness rarely matters, and a run stops sooner without it);
2. of that, only the clients the counterexample names (and the operations they refer to).

A cut that no longer fails is dropped; ddmin then works on what is left, within the time
budget (`shrink_budget_s`). The minimal case replays with `syncbench run sync --replay
<out>/sync.minimal.json`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

from syncbench.shrink import NotFailing, ashrink_schedule, nested_values
from syncbench.studies.sync.params import SyncParams
from syncbench.verdict import FAIL, CheckResult

Ops = list[dict[str, Any]]
Trial = Callable[[SyncParams], Awaitable[list[CheckResult]]]


def first_failure(checks: list[CheckResult], profiles: tuple[str, ...]
                  ) -> tuple[CheckResult, str] | None:
    """The check to shrink and its profile: the first profile (in the order run, the
    quickest usually first) in which a check failed, and the first check failing there."""
    failing = [check for check in checks if check.verdict == FAIL]
    for profile in profiles:
        for check in failing:
            if any(isinstance(entry, dict) and entry.get("scope") == profile
                   for entry in check.counterexample):
                return check, profile
    return (failing[0], profiles[0]) if failing else None


def witness(check: CheckResult, steps_by_op: dict[int, int]) -> tuple[int | None, set[str]]:
    """The last schedule step and the clients the counterexample names."""
    steps = {int(step) for step in nested_values(check.counterexample, "step")
             if isinstance(step, int | float) and step == step}
    steps |= {steps_by_op[int(op)] for op in nested_values(check.counterexample, "op_id")
              if isinstance(op, int | float) and op == op and int(op) in steps_by_op}
    names = {"client", "replica", "subscriber"}
    clients = {str(value) for name in names for value in nested_values(check.counterexample, name)
               if isinstance(value, str)}
    return (max(steps) if steps else None), clients


def _referenced(ops: Ops, kept: Ops) -> Ops:
    """`kept` plus the operations its operations name by step (`of`, `task_of`)."""
    by_step = {op["step"]: op for op in ops}
    wanted = {op["step"] for op in kept}
    for op in kept:
        for key in ("of", "task_of"):
            if isinstance(op.get(key), int) and op[key] in by_step:
                wanted.add(op[key])
    return [op for op in ops if op["step"] in wanted]


async def shrink_failure(params: SyncParams, operations: Ops, schedule: list[dict[str, Any]],
                         check: CheckResult, profile: str, steps_by_op: dict[int, int],
                         trial: Trial) -> dict[str, Any] | None:
    """The minimal record (syncbench.minimal) of `check`'s failure, or None when the full
    schedule no longer fails on its own (a failure that needs the other profiles' run)."""
    started = time.monotonic()
    name = check.name
    faults = [dict(w) for w in schedule if w.get("phase") in (None, profile)]
    trials = 0

    async def still_fails(ops: Ops, windows: list[dict[str, Any]]) -> bool:
        nonlocal trials
        if not ops:
            return False  # no operations given means "generate them": not a smaller case
        trials += 1
        candidate = replace(params, operations=ops, schedule=windows, profiles=(profile,),
                            shrink_budget_s=0.0)
        checks = await trial(candidate)
        failed = any(c.name == name and c.verdict == FAIL for c in checks)
        print(f"sync study: shrinking {name}: trial {trials}, {len(ops)} operations, "
              f"{len(windows)} fault windows: {'still fails' if failed else 'passes'} "
              f"({time.monotonic() - started:.0f}s)", flush=True)
        return failed

    ops = list(operations)
    if not await still_fails(ops, faults):
        return None
    last, clients = witness(check, steps_by_op)
    for cut in _cuts(ops, last, clients):
        if len(cut) < len(ops) and cut and await still_fails(cut, faults):
            ops = cut
    left = max(params.shrink_budget_s - (time.monotonic() - started), 1.0)
    try:
        result = await ashrink_schedule(ops, faults, still_fails, budget_s=left,
                                        check_first=False)
    except NotFailing:  # pragma: no cover - check_first=False never raises it
        return None
    return {"check": name, "operations": result.operations, "schedule": result.schedule,
            "trials": trials, "elapsed_s": round(time.monotonic() - started, 3),
            "complete": result.complete, "original_operations": len(operations),
            "parameters": {"profiles": [profile], "shrink_budget_s": 0.0}}


def _cuts(ops: Ops, last: int | None, clients: set[str]) -> Iterator[Ops]:
    prefix = [op for op in ops if last is None or op["step"] <= last]
    yield prefix
    if clients:
        yield _referenced(prefix, [op for op in prefix if op["client"] in clients])


__all__ = ["first_failure", "shrink_failure", "witness"]
