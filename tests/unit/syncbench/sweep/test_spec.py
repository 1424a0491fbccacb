"""What a sweep runs: seeds and grid cells read from the command line, every instance's
parameters resolved and checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncbench.params import ParameterError
from syncbench.sweep.spec import cell_label, grid, plan_sweep, seeds

ROOT = Path(__file__).parents[4]
NOTEBOOKS = ROOT / "notebooks"
SMOKE = ROOT / "params" / "smoke.yaml"


def test_seeds_are_numbers_and_inclusive_ranges_each_once_in_order() -> None:
    assert seeds("1-5") == [1, 2, 3, 4, 5]
    assert seeds("7") == [7]
    assert seeds("9-11, 1,10") == [9, 10, 11, 1]


@pytest.mark.parametrize(("text", "says"), [
    ("", "is not a seed"), ("a-b", "is not a seed"), ("5-1", "runs backwards; give 1-5"),
    ("1-", "is not a seed"), ("1-1000000", "more than"), ("1.5", "whole numbers")])
def test_bad_seeds_say_what_to_give(text: str, says: str) -> None:
    with pytest.raises(ParameterError, match="--seeds") as caught:
        seeds(text)
    assert says in str(caught.value)


def test_a_grid_is_every_combination_of_its_values_read_as_yaml() -> None:
    cells = grid(["fault_windows=4,8", "profiles=[lan],[lan, wan]"])
    assert cells == [{"fault_windows": 4, "profiles": ["lan"]},
                     {"fault_windows": 4, "profiles": ["lan", "wan"]},
                     {"fault_windows": 8, "profiles": ["lan"]},
                     {"fault_windows": 8, "profiles": ["lan", "wan"]}]
    assert grid([]) == [{}]
    assert cell_label(cells[1]) == "fault_windows=4 profiles=[lan, wan]"
    assert cell_label({}) == "defaults"


@pytest.mark.parametrize(("texts", "says"), [
    (["fault_windows"], "give name=value1,value2"),
    (["=1,2"], "give name=value1,value2"),
    (["seed=1,2"], "give --seeds"),
    (["a=1", "a=2"], "given twice"),
    (["a=1,,2"], "an empty value"),
    (["a=[1,2"], "not a YAML value")])
def test_a_bad_grid_says_what_to_give(texts: list[str], says: str) -> None:
    with pytest.raises(ParameterError, match="--grid") as caught:
        grid(texts)
    assert says in str(caught.value)


def test_every_instance_is_a_cell_with_a_seed_checked_against_the_notebook() -> None:
    plan = plan_sweep(NOTEBOOKS, "sync", SMOKE, {"converge_timeout_s": 20.0},
                      grid(["generated_operations=60,90"]), seeds("3-4"))
    assert [(i.seed, i.cell) for i in plan.instances] == [(3, 0), (3, 1), (4, 0), (4, 1)]
    first = plan.instances[0].parameters
    assert first["seed"] == 3 and first["generated_operations"] == 60
    assert first["converge_timeout_s"] == 20.0  # the override
    assert first["replica_pull_limit"] == 10  # the params file
    assert plan.instances[3].parameters["generated_operations"] == 90
    # a sweep asks which seeds fail: no shrinking unless asked for, or the parameter given
    assert first["shrink_budget_s"] == 0.0
    shrinking = plan_sweep(NOTEBOOKS, "sync", SMOKE, {}, [{}], [1], shrink=True)
    assert shrinking.instances[0].parameters["shrink_budget_s"] > 0
    given = plan_sweep(NOTEBOOKS, "sync", SMOKE, {"shrink_budget_s": 5.0}, [{}], [1])
    assert given.instances[0].parameters["shrink_budget_s"] == 5.0


@pytest.mark.parametrize(("study", "overrides", "cells", "says"), [
    ("nosuch", {}, [{}], "unknown study 'nosuch'"),
    ("sync", {}, [{"generated_operations": "many"}],
     "grid cell generated_operations=many: "),
    ("sync", {"nosuch": 1}, [{}], "nosuch"),
    ("sync", {"seed": 3}, [{}], "the sweep sets the seed"),
])
def test_a_bad_cell_or_override_stops_the_sweep_before_it_runs(
        study: str, overrides: dict, cells: list[dict], says: str) -> None:
    with pytest.raises(ParameterError) as caught:
        plan_sweep(NOTEBOOKS, study, SMOKE, overrides, cells, [1])
    assert says in str(caught.value)
