"""Every registered study's notebook says what its params class says, and every parameter
can be set from a params file and with `-p`, checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncbench.params import ParameterError, notebook_parameters
from syncbench.runner.plan import plan_studies
from syncbench.studies.notebook import parameters_cell_of
from syncbench.study import STUDY_PACKAGES, parameters_cell, registered_studies

ROOT = Path(__file__).resolve().parents[3]
STUDIES = registered_studies()


def test_every_study_package_registers_its_study() -> None:
    assert sorted(STUDIES) == sorted(STUDY_PACKAGES)


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_the_parameters_cell_is_the_one_its_params_class_writes(name: str) -> None:
    study = STUDIES[name]
    assert parameters_cell_of(study.notebook_path) == parameters_cell(study.params), (
        f"{study.notebook_path.name} and {study.params.__name__} differ: run "
        "`python -m syncbench.studies.notebook` to rewrite the cell")


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_notebook_names_types_and_defaults_match_both_ways(name: str) -> None:
    study = STUDIES[name]
    cell = notebook_parameters(study.notebook_path)
    fields = study.params.fields_info()
    assert set(cell) - {"output_dir"} == set(fields)
    for field_name, info in fields.items():
        assert cell[field_name].default == info.default, field_name
    study.params()  # the defaults make valid parameters


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_field_can_be_set_in_a_params_file_and_with_p(name: str, tmp_path: Path) -> None:
    study = STUDIES[name]
    defaults = {field: info.default for field, info in study.params.fields_info().items()}
    params_file = tmp_path / "all.yaml"
    params_file.write_text(yaml.safe_dump({"studies": {name: defaults}}))
    [plan] = plan_studies(ROOT / "notebooks", [name], params_file)
    assert {k: v for k, v in plan.parameters.items() if k != "output_dir"} == defaults
    for field, value in defaults.items():
        [plan] = plan_studies(ROOT / "notebooks", [name], overrides={field: value})
        assert plan.parameters[field] == value


@pytest.mark.parametrize("name", sorted(STUDIES))
@pytest.mark.parametrize(("field", "value", "accepted"), [
    ("seed", "False", "an integer"),
    ("seed", float("nan"), "an integer"),
    ("seeded_bug", ["skip_event"], "a string"),
    ("schedule", "wan", "a list of mappings"),
    ("no_such_parameter", 1, "'no_such_parameter' is declared by none"),
])
def test_a_bad_value_is_one_error_naming_parameter_value_and_what_is_accepted(
        name: str, field: str, value: object, accepted: str) -> None:
    with pytest.raises(ParameterError) as error:
        plan_studies(ROOT / "notebooks", [name], overrides={field: value})
    message = str(error.value)
    assert field in message and accepted in message and "\n" not in message


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_a_rule_spanning_fields_fails_before_anything_runs(name: str) -> None:
    with pytest.raises(ParameterError, match="seeded_bug"):
        plan_studies(ROOT / "notebooks", [name], overrides={"seeded_bug": "no_such_bug"})
