"""The seeded plan of a run: one cell per (scenario, strategy), one trial per sweep point,
and the generated contests (conflicts.generator).

Every cell and trial has its own repository and task, so none can disturb another; the
repository also names the cell's nemesis phase (its faults in a schedule).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from syncbench.studies.conflicts.generator import generate_contests
from syncbench.studies.conflicts.params import SKEW_ORDERINGS, ConflictParams


class _OwnTask:
    """A unit of the run with its own repository and task (a cell or a trial)."""

    repository: str
    task_id: str

    @property
    def phase(self) -> str:
        """The nemesis phase of this unit's faults: its repository."""
        return self.repository

    @property
    def key(self) -> tuple[str, str]:
        return (self.repository, self.task_id)


@dataclass(frozen=True)
class Cell(_OwnTask):
    """One (scenario, strategy) run: its own repository, task id and contents."""

    scenario: str
    strategy: str
    repository: str
    task_id: str
    token: str  # makes this cell's contents unique ("A 3f9c0a", "B 3f9c0a", ...)


@dataclass(frozen=True)
class SkewTrial(_OwnTask):
    """One last_write_wins trial of the clock-skew sweep."""

    trial: int
    skew_s: float
    ordering: str  # "skewed_first": the skewed client's write is the older one
    gap_s: float  # real time between the two writes
    repository: str
    task_id: str
    token: str


@dataclass(frozen=True)
class Workload:
    seed: int
    cells: tuple[Cell, ...]
    trials: tuple[SkewTrial, ...]
    contests: tuple[dict[str, Any], ...] = ()  # generated (or given) contest specs


def plan_workload(params: ConflictParams) -> Workload:
    """The cells, sweep trials and contests a run executes (the parts `workload` picks);
    every random choice comes from the seed."""
    contests: tuple[dict[str, Any], ...] = ()
    if params.runs_generated:
        contests = tuple(params.contests) if params.contests else tuple(generate_contests(
            params.seed, params.generated_contests, params.strategies))
    if not params.runs_nominal:
        return Workload(params.seed, (), (), contests)
    rng = random.Random(params.seed)
    cells = []
    for scenario in params.scenarios:
        for strategy in params.strategies:
            repository = f"c-{scenario}-{strategy}"
            token = f"{rng.randrange(16**6):06x}"
            cells.append(Cell(scenario, strategy, repository, f"{repository}.t", token))
    trials = []
    for skew in params.skew_sweep_s:
        for ordering in SKEW_ORDERINGS:
            for _ in range(params.skew_trials):
                number = len(trials)
                repository = f"skew-{number}"
                trials.append(SkewTrial(
                    trial=number, skew_s=skew, ordering=ordering,
                    gap_s=round(rng.uniform(params.min_gap_s, params.max_gap_s), 3),
                    repository=repository, task_id=f"{repository}.t",
                    token=f"{rng.randrange(16**6):06x}",
                ))
    return Workload(params.seed, tuple(cells), tuple(trials), contests)


__all__ = ["Cell", "SkewTrial", "Workload", "plan_workload"]
