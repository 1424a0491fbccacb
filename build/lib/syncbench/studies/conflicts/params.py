"""What one run of the conflicts study does: the matrix, the offline and skew settings, the sweep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from syncbench.studies.conflicts.generator import ContestSpecError, check_contests
from syncbench.study import StudyParamError, StudyParams, param, require
from tasksync.models import STRATEGIES

SCENARIOS: tuple[str, ...] = (
    "edit_edit_same_field",
    "edit_edit_different_fields",
    "edit_delete",
    "delete_delete",
    "concurrent_create_same_id",
    "long_offline_edit",
    "clock_skew_ahead",
    "clock_skew_behind",
    "plan_two_updates_then_batch",
)
MANUAL_KEEPS: tuple[str, ...] = ("local", "server")
SKEW_ORDERINGS: tuple[str, ...] = ("skewed_first", "skewed_last")
WORKLOADS: tuple[str, ...] = ("nominal", "generated", "both")
DEFAULT_SKEW_SWEEP_S: tuple[float, ...] = (-2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class ConflictParams(StudyParams):
    """scenarios x strategies is the matrix; the last_write_wins sweep runs `skew_trials`
    trials per skew value (`skew_sweep_s`) and ordering, the two writes `min_gap_s`..
    `max_gap_s` apart in real time (drawn from the seed); `skew_trials=0` skips it.
    `workload` picks the nominal part (matrix and sweep), the generated contests, or both;
    `contests` replays given contest specs instead of generating `generated_contests`.
    """

    study_name: ClassVar[str] = "conflicts"

    scenarios: tuple[str, ...] = param(SCENARIOS, "rows of the matrix: the conflict scenarios")
    strategies: tuple[str, ...] = param(STRATEGIES, "columns of the matrix: resolution "
                                                    "strategies")
    skew_minutes: float = param(5.0, "clock offset of the clock_skew_* scenarios (minutes)")
    offline_edits: int = param(3, "edits each side makes while B is offline "
                                  "(long_offline_edit)")
    manual_keep: str = param("local", "how manual conflicts are resolved: 'local' or 'server'")
    skew_sweep_s: tuple[float, ...] = param(DEFAULT_SKEW_SWEEP_S,
                                            "LWW sweep: offsets of the server's clock while "
                                            "it stamps the other write (s; libfaketime)")
    skew_trials: int = param(2, "LWW sweep: trials per skew value and ordering "
                                "(0 skips the sweep)")
    min_gap_s: float = param(0.05, "LWW sweep: smallest real-time gap between the two "
                                   "writes (s)")
    max_gap_s: float = param(1.0, "LWW sweep: largest real-time gap between the two writes (s)")
    concurrency: int = param(6, "LWW sweep: trials run at once")
    workload: str = param("both", "what runs: 'nominal' (the matrix and the LWW sweep), "
                                  "'generated' (the generated contests) or 'both'")
    generated_contests: int = param(60, "generated contests: random concurrent edits of one "
                                        "task by 2-3 replicas, boundaries on purpose "
                                        "(0: none)")
    shrink_budget_s: float = param(60.0, "seconds to spend shrinking failing generated "
                                         "contests to the fewest that still fail (0: do not)")
    contests: list[dict] = param([], "contest specs to run exactly, instead of generating "
                                     "them (replay; see conflicts.generator); [] to generate")

    def validate(self) -> None:
        _require_known("scenarios", self.scenarios, SCENARIOS)
        _require_known("strategies", self.strategies, STRATEGIES)
        require(0 < self.skew_minutes <= 24 * 60, "skew_minutes", self.skew_minutes,
                "a number of minutes in (0, 1440]")
        require(1 <= self.offline_edits <= 50, "offline_edits", self.offline_edits,
                "an integer in 1..50")
        require(self.manual_keep in MANUAL_KEEPS, "manual_keep", self.manual_keep,
                f"one of {', '.join(MANUAL_KEEPS)}")
        require(all(abs(skew) <= 3600 for skew in self.skew_sweep_s), "skew_sweep_s",
                self.skew_sweep_s, "skew values within -3600..3600 seconds")
        require(0 <= self.skew_trials <= 20, "skew_trials", self.skew_trials,
                "an integer in 0..20")
        require(0 <= self.min_gap_s <= 10, "min_gap_s", self.min_gap_s,
                "a number of seconds in 0..10")
        require(self.min_gap_s <= self.max_gap_s <= 10, "max_gap_s", self.max_gap_s,
                f"a number of seconds in min_gap_s ({self.min_gap_s:g})..10")
        require(1 <= self.concurrency <= 32, "concurrency", self.concurrency,
                "an integer in 1..32")
        require(self.workload in WORKLOADS, "workload", self.workload,
                f"one of {', '.join(WORKLOADS)}")
        require(0 <= self.shrink_budget_s <= 86400, "shrink_budget_s", self.shrink_budget_s,
                "0 (do not shrink) to 86400 seconds")
        require(0 <= self.generated_contests <= 2000, "generated_contests",
                self.generated_contests, "an integer in 0..2000")
        if self.contests:
            require(self.workload != "nominal", "contests", self.contests,
                    "contests to replay with workload 'nominal', which runs none: set "
                    "workload to 'generated' (or 'both')")
            try:
                check_contests(self.contests)
            except ContestSpecError as exc:
                raise StudyParamError("contests", self.contests, str(exc)) from None
        elif self.workload == "generated":
            require(self.generated_contests > 0, "generated_contests", self.generated_contests,
                    "at least 1 with workload 'generated' (or give `contests`), else the "
                    "run does nothing")

    @property
    def runs_nominal(self) -> bool:
        """The scenario matrix and the LWW sweep run."""
        return self.workload in ("nominal", "both")

    @property
    def runs_generated(self) -> bool:
        """Generated (or given) contests run."""
        return self.workload in ("generated", "both")


def _require_known(name: str, values: Sequence[str], known: Sequence[str]) -> None:
    require(bool(values), name, values, f"at least one of {', '.join(known)}")
    unknown = [value for value in values if value not in known]
    require(not unknown, name, values, f"names from {', '.join(known)} "
                                       f"(unknown: {', '.join(unknown)})")
    require(len(set(values)) == len(values), name, values, "each name at most once")


__all__ = ["DEFAULT_SKEW_SWEEP_S", "MANUAL_KEEPS", "SCENARIOS", "SKEW_ORDERINGS", "WORKLOADS",
           "ConflictParams"]
