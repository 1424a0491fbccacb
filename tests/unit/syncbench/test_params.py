"""Parameter sets checked against the studies' `parameters` cells."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from syncbench.params import (
    ParameterError,
    load_parameter_set,
    notebook_parameters,
    parse_override,
    parse_overrides,
    resolve_parameters,
    validate_parameter_set,
)
from syncbench.runner.plan import plan_studies

PARAMETERS_CELL = """output_dir: str = "."  # set by the runner
seed: int = 7  # random seed
clients: int = 3  # replicas that sync
budget_ms: float = 250.0  # p99 budget
profile: str = "clean"  # network profile
enabled: bool = True  # run the fault phase
profiles: list[str] = ["clean", "lossy"]  # profiles to compare
"""


def write_notebook(directory: Path, study: str, source: str = PARAMETERS_CELL) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]}))
    path = directory / f"{study}.ipynb"
    nbformat.write(nb, path)
    return path


def write_params(directory: Path, text: str) -> Path:
    path = directory / "smoke.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    directory = tmp_path / "notebooks"
    directory.mkdir()
    write_notebook(directory, "latency")
    write_notebook(directory, "other", 'output_dir: str = "."  # out\nseed: int = 1  # seed\n')
    return directory


def test_notebook_parameters_have_type_default_and_comment(notebooks: Path) -> None:
    declared = notebook_parameters(notebooks / "latency.ipynb")
    assert list(declared) == [
        "output_dir",
        "seed",
        "clients",
        "budget_ms",
        "profile",
        "enabled",
        "profiles",
    ]
    assert declared["budget_ms"].type_name == "float"
    assert declared["budget_ms"].default == 250.0
    assert declared["budget_ms"].help == "p99 budget"
    assert declared["profiles"].default == ["clean", "lossy"]


def test_file_values_override_notebook_defaults(notebooks: Path, tmp_path: Path) -> None:
    params = write_params(tmp_path, "defaults: {seed: 3}\nstudies:\n  latency: {clients: 5}\n")
    [plan] = plan_studies(notebooks, ["latency"], params)
    assert plan.parameters == {
        "seed": 3,
        "clients": 5,
        "budget_ms": 250.0,
        "profile": "clean",
        "enabled": True,
        "profiles": ["clean", "lossy"],
    }
    assert "output_dir" not in plan.parameters


def test_studies_default_to_those_named_in_the_params_file(notebooks: Path, tmp_path: Path) -> None:
    params = write_params(tmp_path, "studies:\n  other: {}\n")
    assert [plan.study for plan in plan_studies(notebooks, [], params)] == ["other"]
    assert [plan.study for plan in plan_studies(notebooks)] == ["latency", "other"]


def test_unknown_study_in_params_file_names_file_and_valid_studies(
    notebooks: Path, tmp_path: Path
) -> None:
    params = write_params(tmp_path, "studies:\n  latncy: {clients: 2}\n")
    with pytest.raises(ParameterError) as error:
        plan_studies(notebooks, [], params)
    message = str(error.value)
    assert str(params) in message and "'latncy'" in message
    assert "latency, other" in message


def test_unknown_study_on_command_line_fails(notebooks: Path) -> None:
    with pytest.raises(ParameterError, match="unknown study 'nope'.*valid studies: latency, other"):
        plan_studies(notebooks, ["nope"])


def test_unknown_parameter_names_file_study_parameter_and_valid_ones(
    notebooks: Path, tmp_path: Path
) -> None:
    params = write_params(tmp_path, "studies:\n  latency: {client: 2}\n")
    with pytest.raises(ParameterError) as error:
        plan_studies(notebooks, [], params)
    message = str(error.value)
    for part in (str(params), "'latency'", "'client'", "seed, clients, budget_ms"):
        assert part in message
    assert "output_dir" not in message.split("valid parameters:")[1]


@pytest.mark.parametrize(
    ("yaml_value", "expected_type"),
    [
        ("clients: many", "an integer, got str 'many'"),
        ("clients: 2.5", "an integer, got float 2.5"),
        ("clients: true", "an integer, got bool True"),
        ("budget_ms: fast", "a finite number, got str 'fast'"),
        ("budget_ms: .nan", "a finite number, got float nan"),
        ("enabled: 1", "true or false, got int 1"),
        ("enabled: 'False'", "true or false, got str 'False'"),
        ("profile: 3", "a string, got int 3"),
        ("profiles: lossy", "a list of strings, got str 'lossy'"),
    ],
)
def test_wrong_type_fails(
    notebooks: Path, tmp_path: Path, yaml_value: str, expected_type: str
) -> None:
    params = write_params(tmp_path, f"studies:\n  latency: {{{yaml_value}}}\n")
    with pytest.raises(ParameterError) as error:
        plan_studies(notebooks, [], params)
    assert f"expects {expected_type}" in str(error.value)


def test_int_is_accepted_for_a_float_and_becomes_one(notebooks: Path, tmp_path: Path) -> None:
    params = write_params(tmp_path, "studies:\n  latency: {budget_ms: 100}\n")
    [plan] = plan_studies(notebooks, [], params)
    assert plan.parameters["budget_ms"] == 100.0
    assert isinstance(plan.parameters["budget_ms"], float)


def test_output_dir_belongs_to_the_runner(notebooks: Path, tmp_path: Path) -> None:
    params = write_params(tmp_path, "studies:\n  latency: {output_dir: /tmp}\n")
    with pytest.raises(ParameterError, match="'output_dir' is set by the runner"):
        plan_studies(notebooks, [], params)


def test_default_declared_by_no_study_fails(notebooks: Path, tmp_path: Path) -> None:
    params = write_params(tmp_path, "defaults: {clinets: 2}\n")
    with pytest.raises(ParameterError, match="defaults: parameter 'clinets'"):
        plan_studies(notebooks, [], params)


def test_defaults_apply_only_to_studies_that_declare_them(notebooks: Path, tmp_path: Path) -> None:
    params = write_params(tmp_path, "defaults: {clients: 9, seed: 4}\n")
    plans = {plan.study: plan for plan in plan_studies(notebooks, [], params)}
    assert plans["latency"].parameters["clients"] == 9
    assert plans["other"].parameters == {"seed": 4}


def test_overrides_apply_to_every_selected_study(notebooks: Path, tmp_path: Path) -> None:
    params = write_params(tmp_path, "studies:\n  latency: {seed: 2}\n  other: {seed: 3}\n")
    overrides = parse_overrides(["seed=11", "clients=4"])
    plans = {plan.study: plan for plan in plan_studies(notebooks, [], params, overrides)}
    assert plans["latency"].parameters["seed"] == 11
    assert plans["latency"].parameters["clients"] == 4
    assert plans["other"].parameters == {"seed": 11}


def test_override_of_wrong_type_or_unknown_name_fails(notebooks: Path) -> None:
    with pytest.raises(ParameterError, match="-p override: study 'latency' parameter 'clients'"):
        plan_studies(notebooks, ["latency"], overrides={"clients": "x"})
    with pytest.raises(ParameterError, match="'clients' is declared by none of the selected"):
        plan_studies(notebooks, ["other"], overrides={"clients": 2})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seed=3", ("seed", 3)),
        ("budget_ms=2.5", ("budget_ms", 2.5)),
        ("enabled=false", ("enabled", False)),
        ("profile=lossy", ("profile", "lossy")),
        ("profile='3'", ("profile", "3")),
        ("profiles=[a, b]", ("profiles", ["a", "b"])),
        ("note=a=b", ("note", "a=b")),
    ],
)
def test_parse_override_reads_yaml_scalars(text: str, expected: tuple) -> None:
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["seed", "=3", "two words=1", "x=[unclosed"])
def test_bad_override_fails_clearly(text: str) -> None:
    with pytest.raises(ParameterError, match="bad override"):
        parse_override(text)


def test_missing_or_malformed_params_file(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="params file not found"):
        load_parameter_set(tmp_path / "absent.yaml")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_parameter_set(write_params(tmp_path, "studies: [\n"))
    with pytest.raises(ParameterError, match="unknown top-level key.*profile"):
        load_parameter_set(write_params(tmp_path, "profile: {}\n"))
    with pytest.raises(ParameterError, match="study 'latency' must be a mapping"):
        load_parameter_set(write_params(tmp_path, "studies:\n  latency: 3\n"))


def test_unannotated_parameter_is_checked_against_its_default(tmp_path: Path) -> None:
    path = write_notebook(tmp_path, "plain", "count = 3  # how many\nlabel = None  # any\n")
    declared = notebook_parameters(path)
    assert resolve_parameters("plain", declared, overrides={"count": 4}) == {
        "count": 4,
        "label": None,
    }
    with pytest.raises(ParameterError, match="expects an integer, got str 'four'"):
        resolve_parameters("plain", declared, overrides={"count": "four"})
    assert resolve_parameters("plain", declared, overrides={"label": [1]})["label"] == [1]


def test_validate_accepts_an_empty_parameter_set(notebooks: Path) -> None:
    validate_parameter_set(
        load_parameter_set(write_params(notebooks, "")),
        {"latency": notebook_parameters(notebooks / "latency.ipynb")},
    )
