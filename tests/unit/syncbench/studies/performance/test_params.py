"""PerformanceParams: strict types, cross-field rules named with the parameter, the baseline."""

from __future__ import annotations

import pytest

from syncbench.studies.notebook import parameters_cell_of
from syncbench.studies.performance import DEFAULT_BASELINE, STUDY, PerformanceParams
from syncbench.studies.performance.params import REPO_ROOT
from syncbench.study import StudyParamError, parameters_cell


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"repeats": 0}, "repeats"),
        ({"workers": []}, "workers"),
        ({"workers": (0, 10)}, "workers"),
        ({"workers": (10, 10)}, "workers"),
        ({"batch_sizes": (100, 50_000)}, "batch_sizes"),
        ({"subscribers": (-1,)}, "subscribers"),
        ({"profiles": ("lan", "no-such-profile")}, "profiles"),
        ({"profiles": ("lan", "outage")}, "profiles"),
        ({"profiles": ()}, "profiles"),
        ({"profiles": ("lan", "lan")}, "profiles"),
        ({"seeded_bug": "not-a-bug"}, "seeded_bug"),
        ({"regression_ratio": 0.9}, "regression_ratio"),
        ({"sustained_s": 0}, "sustained_s"),
        ({"fanout_interval_s": -1}, "fanout_interval_s"),
        ({"target_profile": "wan", "profiles": ("lan",)}, "target_profile"),
        ({"create_target_workers": 5}, "create_target_workers"),
        ({"tasks_per_run": 0}, "tasks_per_run"),
        ({"save_baseline": True, "seeded_bug": "skip_event"}, "save_baseline"),
    ],
)
def test_a_bad_value_raises_naming_the_parameter(overrides: dict, named: str) -> None:
    with pytest.raises(StudyParamError, match=f"parameter '{named}'") as error:
        PerformanceParams(**overrides)
    assert error.value.name == named


@pytest.mark.parametrize(
    ("name", "value"),
    [("repeats", "3"), ("repeats", 2.0), ("workers", "1,10"), ("profiles", "lan"),
     ("save_baseline", "true"), ("compare_direct", 1), ("sustained_s", "10"),
     ("workers", [1, "10"])],
)
def test_values_of_the_wrong_type_are_refused_not_converted(name: str, value: object) -> None:
    with pytest.raises(StudyParamError, match=f"parameter '{name}'"):
        PerformanceParams(**{name: value})


def test_lists_from_a_params_file_or_notebook_become_tuples() -> None:
    params = PerformanceParams.from_notebook({
        "profiles": ["lan"], "workers": [1, 10], "batch_sizes": [10], "subscribers": [2],
        "sustained_s": 3, "unrelated": object()})
    assert params.profiles == ("lan",) and params.workers == (1, 10)
    assert params.sustained_s == 3.0 and isinstance(params.sustained_s, float)
    assert PerformanceParams.from_mapping(params.to_dict()) == params


def test_an_unknown_parameter_names_the_valid_ones() -> None:
    with pytest.raises(StudyParamError, match="no such parameter; valid: seed"):
        PerformanceParams.from_mapping({"save_basline": True}, "params/smoke.yaml")


def test_the_notebook_parameters_cell_is_the_params_class() -> None:
    assert PerformanceParams().save_baseline is False
    assert "save_baseline: bool = False" in parameters_cell(PerformanceParams)
    assert STUDY.params is PerformanceParams
    assert parameters_cell_of(STUDY.notebook_path) == parameters_cell(PerformanceParams)


def test_slower_profiles_create_fewer_tasks_and_seeded_bug_reaches_the_server() -> None:
    params = PerformanceParams(tasks_per_run=1000, slow_tasks_per_run=40, seeded_bug="skip_event")
    assert params.tasks_for("lan") == 1000 and params.tasks_for("wan") == 40
    assert params.server_options()[-2:] == ("--seeded-bug", "skip_event")
    assert "--seeded-bug" not in PerformanceParams().server_options()
    assert ("--rate-limit", "0") == PerformanceParams().server_options()[:2]


def test_the_baseline_file_is_relative_to_the_repository(tmp_path) -> None:
    assert PerformanceParams().baseline_file == DEFAULT_BASELINE
    assert PerformanceParams(baseline_path="x/b.json").baseline_file == REPO_ROOT / "x/b.json"
    absolute = tmp_path / "b.json"
    assert PerformanceParams(baseline_path=str(absolute)).baseline_file == absolute
    assert (REPO_ROOT / "params" / "profiles.yaml").is_file()
