"""The seeded plan: a function of the seed, one repository and task per cell and trial."""

from __future__ import annotations

from syncbench.studies.conflicts import SCENARIOS, ConflictParams, plan_workload
from syncbench.studies.conflicts.scenarios import SCENARIO_SCRIPTS
from tasksync.models import STRATEGIES


def test_the_workload_is_a_function_of_the_seed() -> None:
    params = ConflictParams(seed=5, skew_trials=2)
    assert plan_workload(params) == plan_workload(ConflictParams(seed=5, skew_trials=2))
    other = plan_workload(ConflictParams(seed=6, skew_trials=2))
    assert [c.token for c in other.cells] != [c.token for c in plan_workload(params).cells]
    assert [t.gap_s for t in other.trials] != [t.gap_s for t in plan_workload(params).trials]


def test_every_cell_and_trial_gets_its_own_repository_task_and_phase() -> None:
    params = ConflictParams(skew_trials=3, min_gap_s=0.1, max_gap_s=0.2)
    workload = plan_workload(params)
    assert len(workload.cells) == len(SCENARIOS) * len(STRATEGIES)
    assert len(workload.trials) == len(params.skew_sweep_s) * 2 * 3
    units = [*workload.cells, *workload.trials]
    assert len({u.repository for u in units}) == len(units)
    assert len({u.key for u in units}) == len(units)
    assert len({u.phase for u in units}) == len(units)
    assert all(0.1 <= t.gap_s <= 0.2 for t in workload.trials)


def test_skew_trials_zero_skips_the_sweep() -> None:
    assert plan_workload(ConflictParams(skew_trials=0)).trials == ()


def test_every_scenario_has_a_script() -> None:
    assert set(SCENARIO_SCRIPTS) == set(SCENARIOS)
