"""Faults must be seen to bite: the code paths a study's faults are there to exercise,
declared by the study and counted in every run.

    DECLARED = (
        Path_("crash_in_flight", "a write in flight when the server was killed",
              lambda result: in_flight_at(result, "crash")),
        ...)
    result.checks.append(paths_reached(result, DECLARED))

`paths_reached` counts each path over the result (its frames), stores the counts in
`result.paths` (the summary lists them) and returns the check `faults_bite`: pass when
every declared path was reached at least once, else unknown, naming the paths never
reached: a fault that silently did nothing is no evidence, so the run does not pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from syncbench.verdict import CheckResult, compose

CHECK = "faults_bite"


@dataclass(frozen=True)
class DeclaredPath:
    """A path a study's faults must exercise: its name, what reaching it means, and how to
    count it over a result (0 when the run never got there)."""

    name: str
    description: str
    count: Callable[[Any], int]


def path_counts(result: Any, declared: Sequence[DeclaredPath]) -> dict[str, dict[str, Any]]:
    """Each declared path's count over `result`, with its description."""
    return {path.name: {"description": path.description, "count": int(path.count(result))}
            for path in declared}


def paths_reached(result: Any, declared: Sequence[DeclaredPath]) -> CheckResult:
    """The `faults_bite` check over `declared` (the counts go into `result.paths`)."""
    counts = path_counts(result, declared)
    result.paths = counts
    parts = {
        name: (CheckResult(name, passed=True, observed=f"{entry['count']} times",
                           expected=">= 1", message=entry["description"])
               if entry["count"] else
               CheckResult.not_reached(name, f"{entry['description']}: never happened",
                                       expected=">= 1"))
        for name, entry in counts.items()}
    check = compose(CHECK, parts)
    if not parts:
        return CheckResult(CHECK, passed=True, observed="no paths declared", expected="-")
    reached = sum(1 for entry in counts.values() if entry["count"])
    message = (f"every declared path reached ({reached} of {len(counts)})"
               if check.passed else check.message)
    return CheckResult(CHECK, passed=check.passed, observed=check.observed,
                       expected="each declared path reached at least once", message=message,
                       unknown=check.unknown)


__all__ = ["CHECK", "DeclaredPath", "path_counts", "paths_reached"]
