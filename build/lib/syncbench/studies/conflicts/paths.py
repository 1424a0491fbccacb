"""The paths the conflicts study must exercise (syncbench.paths): each strategy's conflict
branch, and last_write_wins dropping a newer write when the server's clock was off."""

from __future__ import annotations

from typing import Any

from syncbench.paths import DeclaredPath
from syncbench.studies.conflicts.params import ConflictParams


def conflicts_of(strategy: str) -> Any:
    def count(result: Any) -> int:
        outcomes = result.frames["outcomes"]
        if outcomes.empty:
            return 0
        return int(outcomes.loc[outcomes["strategy"] == strategy, "conflicts_reported"].sum())
    return count


def newer_writes_lost(result: Any) -> int:
    trials = result.frames["skew_trials"]
    return 0 if trials.empty else int(trials["newer_write_lost"].astype(bool).sum())


def conflict_paths(params: ConflictParams) -> list[DeclaredPath]:
    """One path per strategy of the matrix (generated contests draw their strategies, so
    only the matrix promises each); the clock sweep's when a skew exceeds the gaps."""
    if not params.runs_nominal:
        return []
    paths = [DeclaredPath(f"conflict_{strategy}", f"a conflict resolved by {strategy}",
                          conflicts_of(strategy))
             for strategy in params.strategies if params.scenarios]
    if params.skew_trials and any(abs(s) > params.max_gap_s for s in params.skew_sweep_s):
        paths.append(DeclaredPath("lww_dropped_newer_write", "last_write_wins kept an older "
                                  "write over one stamped by a server clock off by more than "
                                  "the gap", newer_writes_lost))
    return paths


__all__ = ["conflict_paths"]
