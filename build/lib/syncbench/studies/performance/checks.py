"""The performance study's own checks: pure functions of its frames, each a CheckResult.

    creation_target_met        N creates by W workers under S seconds (the plan's target)
    batch_target_met           a batch of N items syncs under S seconds
    no_regression_vs_baseline  no ratio-to-noop more than `max_ratio` x its stored baseline
    all_operations_succeeded   every recorded operation completed ok (a failure voids timing)
    measured_under_profile     every measurement ran while its profile was on its proxy

(Deliveries are syncbench.checks.subscribers_saw_every_event, shared with the sync study.)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from syncbench.nemesis import PROCESS
from syncbench.plain import plain
from syncbench.stats import median
from syncbench.studies.performance.baseline import stored_ratios
from syncbench.verdict import CheckResult


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return plain(frame.to_dict(orient="records"))


def creation_target_met(creation: pd.DataFrame, *, profile: str, workers: int, tasks: int,
                        seconds: float) -> CheckResult:
    """Passes when `tasks` creates by `workers` workers take under `seconds` (median of repeats).

    A run that created another number of tasks per repeat is scaled to `tasks` by its
    throughput (the target is a rate: tasks / seconds).
    """
    name = f"creation target: {tasks} tasks by {workers} workers under {seconds:g} s ({profile})"
    expected = f"< {seconds:g} s (>= {tasks / seconds:.1f} creates/s)"
    rows = (creation[(creation["kind"] == "create") & (creation["profile"] == profile)
                     & (creation["workers"] == workers)] if not creation.empty else creation)
    if rows.empty:
        return CheckResult(name, False, "not measured", expected,
                           f"no creation run with {workers} workers on {profile}")
    per_task = [row.elapsed_s / row.requested for row in rows.itertuples() if row.requested]
    projected = median(per_task) * tasks
    failed = rows[rows["failed"] > 0]
    done = int(rows["requested"].iloc[0])
    scaled = "" if done == tasks else f", scaled from {done} per repeat"
    rate = tasks / projected if projected else math.inf
    observed = f"{projected:.2f} s (median of {len(rows)}{scaled}; {rate:.0f} creates/s)"
    passed = projected < seconds and failed.empty
    message = "" if failed.empty else f"{int(failed['failed'].sum())} creates failed"
    return CheckResult(name, bool(passed), observed, expected, message,
                       counterexample=[] if passed else _records(rows))


def batch_target_met(batch: pd.DataFrame, *, profile: str, size: int,
                     seconds: float) -> CheckResult:
    """Passes when a batch of `size` items syncs in under `seconds` (median of repeats).

    When `size` was not measured, the largest smaller batch is scaled up linearly (which
    over-estimates, since a batch has a fixed cost): the check stays on the safe side.
    """
    name = f"batch target: {size} items under {seconds:g} s ({profile})"
    expected = f"< {seconds:g} s"
    rows = batch[batch["profile"] == profile] if not batch.empty else batch
    exact = rows[rows["size"] == size] if not rows.empty else rows
    smaller = rows[rows["size"] < size] if not rows.empty else rows
    if not exact.empty:
        chosen, scale, how = exact, 1.0, ""
    elif not smaller.empty:
        measured = int(smaller["size"].max())
        chosen, scale = smaller[smaller["size"] == measured], size / measured
        how = f", scaled up from {measured} items"
    else:
        return CheckResult(name, False, "not measured", expected,
                           f"no batch of {size} items or fewer was synced on {profile}")
    projected = median(chosen["elapsed_s"]) * scale
    failed = chosen[~chosen["ok"].astype(bool)]
    passed = projected < seconds and failed.empty
    message = "" if failed.empty else f"{len(failed)} batch syncs failed"
    return CheckResult(name, bool(passed), f"{projected:.3f} s (median of {len(chosen)}{how})",
                       expected, message, counterexample=[] if passed else _records(chosen))


def no_regression_vs_baseline(current: Mapping[str, float], baseline: Mapping[str, Any] | None,
                              *, max_ratio: float, machine: Mapping[str, Any] | None = None,
                              source: str = "") -> CheckResult:
    """Passes when no figure's ratio-to-noop is more than `max_ratio` times its baseline's.

    `current` maps figure -> ratio (lower is better); `baseline` is a loaded baseline file.
    Figures only one side has are not compared (a smaller run measures fewer); the message
    says how many were. No baseline at all passes, saying so.
    """
    name = f"no regression vs stored baseline (ratio to noop within {max_ratio:g}x)"
    expected = f"every figure <= {max_ratio:g} x its baseline ratio"
    if baseline is None:
        return CheckResult(name, True, "no stored baseline", expected,
                           f"nothing to compare: run with save_baseline=true to write one "
                           f"({source})")
    stored = stored_ratios(dict(baseline))
    shared = sorted(set(stored) & set(current))
    factors = {figure: (float(current[figure]) / stored[figure] if stored[figure] > 0
                        else math.inf) for figure in shared}
    offenders = sorted(
        ({"figure": figure, "baseline_ratio": stored[figure],
          "current_ratio": float(current[figure]), "factor": round(factor, 3)}
         for figure, factor in factors.items() if factor > max_ratio),
        key=lambda row: -row["factor"])
    worst = max((f for f in factors.values() if math.isfinite(f)), default=None)
    observed = f"{len(offenders)} of {len(shared)} figures regressed" + (
        f"; worst {worst:.2f}x" if worst is not None else "")
    notes = [f"compared {len(shared)} figures ({len(set(current) - set(stored))} new, "
             f"{len(set(stored) - set(current))} not measured in this run)"]
    base_machine = baseline.get("machine") or {}
    if machine and base_machine and any(base_machine.get(key) != machine.get(key)
                                        for key in ("cpu_count", "python")):
        notes.append(f"baseline machine differs: {base_machine.get('cpu_count')} CPUs, Python "
                     f"{base_machine.get('python')} (now {machine.get('cpu_count')} CPUs, "
                     f"Python {machine.get('python')})")
    return CheckResult(name, not offenders, observed, expected, "; ".join(notes),
                       counterexample=offenders)


def all_operations_succeeded(operations: pd.DataFrame) -> CheckResult:
    """Passes when every recorded operation completed `ok` (a failed op voids timing)."""
    bad = operations[operations["outcome"] != "ok"] if not operations.empty else operations
    columns = [c for c in ("op_id", "client", "operation", "outcome", "error", "latency_s")
               if c in bad.columns]
    return CheckResult("every load operation succeeded", bad.empty,
                       f"{len(bad)} of {len(operations)} not ok", "0 not ok",
                       counterexample=_records(bad[columns].head(10)))


def measured_under_profile(operations: pd.DataFrame, windows: pd.DataFrame) -> CheckResult:
    """Passes when every operation labelled with a profile ran, from invocation to completion,
    inside a fault window of that profile (`windows` from syncbench.nemesis.fault_windows).

    Figures are labelled by profile; one measured without it (a replayed window that ended
    early, a condition never put on) would be a figure of another network.
    """
    name = "every measurement ran under its network profile"
    column = "arg_profile"
    if operations.empty or column not in operations.columns:
        return CheckResult.not_reached(name, "no operation labelled with a profile",
                                       "0 outside")
    measured = operations[(operations["client"] != PROCESS) & operations[column].notna()]
    spans: dict[str, tuple[list[float], list[float]]] = {}
    for window in windows.sort_values("start").itertuples(index=False):
        starts, ends = spans.setdefault(str(window.profile), ([], []))
        starts.append(window.start.timestamp())
        ends.append(window.end.timestamp())
    outside = []
    for op in measured.itertuples(index=False):
        starts, ends = spans.get(str(op.arg_profile), ([], []))
        done = op.complete_time if not pd.isna(op.complete_time) else op.invoke_time
        i = bisect.bisect_right(starts, op.invoke_time) - 1  # the last window begun by then
        if i < 0 or done > ends[i]:
            outside.append({"op_id": op.op_id, "client": op.client, "operation": op.operation,
                            "profile": op.arg_profile, "invoke_time": op.invoke_time,
                            "complete_time": done})
    if measured.empty:
        return CheckResult.not_reached(name, "no operation labelled with a profile",
                                       "0 outside")
    return CheckResult(name, not outside, f"{len(outside)} of {len(measured)} outside",
                       "0 outside",
                       "" if not outside else f"{len(outside)} operations ran while their "
                       f"profile was not on (first: op {outside[0]['op_id']})",
                       counterexample=outside[:10])


__all__ = ["all_operations_succeeded", "batch_target_met", "creation_target_met",
           "measured_under_profile", "no_regression_vs_baseline"]
