"""A failing run's generated contests, shrunk: the fewest contests that still fail the check.

Contests are independent (each its own repository), so the counterexample usually names the
ones that failed: those are tried alone first, then ddmin (syncbench.shrink) works on them,
or on every generated contest when they do not fail alone. Each trial runs the candidate
contests (and nothing of the nominal part) on a fresh stack. The minimal case replays with
`syncbench run conflicts --replay <out>/conflicts.minimal.json`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from syncbench.shrink import NotFailing, ashrink, nested_values
from syncbench.studies.conflicts.params import ConflictParams
from syncbench.study import StudyResult
from syncbench.verdict import FAIL, CheckResult

Run = Callable[[ConflictParams], Awaitable[StudyResult]]


def failing_contests(result: StudyResult) -> tuple[CheckResult, list[dict], list[dict]] | None:
    """The first failing check whose counterexample names generated contests, those contests,
    and every generated contest of the run; None when no failure is in a contest."""
    outcomes = result.frames.get("outcomes")
    if outcomes is None or "spec" not in outcomes:
        return None
    generated = outcomes[outcomes["workload"] == "generated"]
    specs = {row["repository"]: json.loads(row["spec"]) if isinstance(row["spec"], str)
             else dict(row["spec"]) for row in generated.to_dict(orient="records")}
    for check in result.checks:
        if check.verdict != FAIL:
            continue
        named = [repo for repo in dict.fromkeys(nested_values(check.counterexample, "repository"))
                 if repo in specs]
        if named:
            return check, [specs[repo] for repo in named], list(specs.values())
    return None


async def shrink_contests(params: ConflictParams, result: StudyResult,
                          run_once: Run) -> dict[str, Any] | None:
    """The minimal record (syncbench.minimal) of the failing contests, or None."""
    found = failing_contests(result)
    if found is None:
        return None
    check, named, everything = found
    started, trials = time.monotonic(), 0

    async def still_fails(contests: list[dict]) -> bool:
        nonlocal trials
        if not contests:
            return False  # no contests given means "generate them": not a smaller case
        trials += 1
        trial = replace(params, workload="generated", contests=contests, shrink_budget_s=0.0)
        failed = any(c.name == check.name and c.verdict == FAIL
                     for c in (await run_once(trial)).checks)
        print(f"conflicts: shrinking {check.name}: trial {trials}, {len(contests)} contests: "
              f"{'still fails' if failed else 'passes'} ({time.monotonic() - started:.0f}s)",
              flush=True)
        return failed

    alone = await still_fails(named)
    items = named if alone else everything
    left = max(params.shrink_budget_s - (time.monotonic() - started), 1.0)
    try:
        shrunk = await ashrink(items, still_fails, budget_s=left, check_first=not alone)
    except NotFailing:
        return None  # it needs the nominal part, or it does not fail again
    return {"check": check.name, "operations": shrunk.minimal, "operations_parameter":
            "contests", "schedule": list(params.schedule), "trials": trials,
            "elapsed_s": round(time.monotonic() - started, 3), "complete": shrunk.complete,
            "original_operations": len(everything),
            "parameters": {"workload": "generated", "shrink_budget_s": 0.0}}


__all__ = ["failing_contests", "shrink_contests"]
