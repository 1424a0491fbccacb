"""ConflictParams: strict types, every rule naming the parameter, the value and what is accepted."""

from __future__ import annotations

import pytest

from syncbench.studies.conflicts import SCENARIOS, STUDY, ConflictParams
from syncbench.study import StudyParamError, parameters_cell
from tasksync.models import STRATEGIES


@pytest.mark.parametrize(("overrides", "named"), [
    ({"scenarios": ("edit_edit_same_field", "nope")}, "scenarios"),
    ({"scenarios": ()}, "scenarios"),
    ({"scenarios": "edit_delete"}, "scenarios"),
    ({"strategies": ("server_wins", "server_wins")}, "strategies"),
    ({"strategies": ("first_wins",)}, "strategies"),
    ({"skew_minutes": 0}, "skew_minutes"),
    ({"skew_minutes": "5"}, "skew_minutes"),
    ({"offline_edits": 0}, "offline_edits"),
    ({"offline_edits": 2.0}, "offline_edits"),
    ({"manual_keep": "both"}, "manual_keep"),
    ({"skew_sweep_s": (0.0, 7200.0)}, "skew_sweep_s"),
    ({"skew_sweep_s": ("1",)}, "skew_sweep_s"),
    ({"skew_trials": -1}, "skew_trials"),
    ({"min_gap_s": 2.0, "max_gap_s": 1.0}, "max_gap_s"),
    ({"concurrency": 0}, "concurrency"),
    ({"seeded_bug": "typo"}, "seeded_bug"),
    ({"seed": "1"}, "seed"),
    ({"seed": True}, "seed"),
    ({"schedule": [{"at": 0, "for": 1, "fault": "client_clock", "target": "x", "skew_s": 0}]},
     "schedule"),
])
def test_a_bad_parameter_raises_an_error_naming_it(overrides: dict, named: str) -> None:
    with pytest.raises(StudyParamError, match=f"parameter '{named}'") as caught:
        ConflictParams(**overrides)
    assert caught.value.name == named


def test_an_error_says_what_is_accepted_and_what_was_given() -> None:
    with pytest.raises(StudyParamError) as caught:
        ConflictParams(manual_keep="both")
    assert "local, server" in str(caught.value) and "'both'" in str(caught.value)


def test_lists_from_a_notebook_become_tuples_and_ints_floats() -> None:
    params = ConflictParams(scenarios=["edit_delete"], strategies=["merge"], skew_sweep_s=[1])
    assert params.scenarios == ("edit_delete",)
    assert params.strategies == ("merge",)
    assert params.skew_sweep_s == (1.0,) and isinstance(params.skew_sweep_s[0], float)


def test_defaults_cover_every_scenario_and_strategy() -> None:
    params = ConflictParams()
    assert params.scenarios == SCENARIOS and params.strategies == STRATEGIES
    assert "plan_two_updates_then_batch" in SCENARIOS


def test_the_params_round_trip_through_plain_data() -> None:
    params = ConflictParams(seed=4, scenarios=("edit_delete",), skew_trials=0,
                            schedule=[{"at": 0.0, "for": 0.5, "fault": "offline",
                                       "target": "side-b", "phase": "c-edit_delete-merge"}])
    assert ConflictParams.from_mapping(params.to_dict()) == params


def test_an_unknown_parameter_names_the_valid_ones() -> None:
    with pytest.raises(StudyParamError, match="valid: seed"):
        ConflictParams.from_mapping({"skew_minute": 3})


def test_the_notebook_parameters_cell_is_the_params_class() -> None:
    from syncbench.studies.notebook import parameters_cell_of

    assert parameters_cell_of(STUDY.notebook_path) == parameters_cell(ConflictParams)


@pytest.mark.parametrize(("overrides", "named", "says"), [
    ({"workload": "random"}, "workload", "one of nominal, generated, both"),
    ({"generated_contests": -1}, "generated_contests", "0..2000"),
    ({"workload": "generated", "generated_contests": 0}, "generated_contests", "give `contests`"),
    ({"workload": "nominal", "contests": [{"contest": 1}]}, "contests", "set workload"),
    ({"contests": [{"contest": 1}]}, "contests", "missing"),
    ({"contests": ["edit"]}, "contests", "a list of mappings"),
])
def test_a_bad_workload_parameter_says_what_to_do(overrides: dict, named: str,
                                                 says: str) -> None:
    with pytest.raises(StudyParamError, match=f"parameter '{named}'") as caught:
        ConflictParams(**overrides)
    assert says in str(caught.value)


def test_either_part_runs_alone() -> None:
    generated = ConflictParams(workload="generated", generated_contests=3)
    assert generated.runs_generated and not generated.runs_nominal
    nominal = ConflictParams(workload="nominal", generated_contests=0)
    assert nominal.runs_nominal and not nominal.runs_generated
    both = ConflictParams()
    assert both.runs_nominal and both.runs_generated and both.generated_contests > 0
