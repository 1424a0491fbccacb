"""Which studies a run executes and with which parameters, all validated before anything runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncbench.params import (
    Parameter,
    ParameterError,
    ParameterSet,
    check_overrides,
    load_parameter_set,
    notebook_parameters,
    resolve_parameters,
    validate_parameter_set,
)


@dataclass(frozen=True)
class StudyPlan:
    """One study to run: its notebook and the parameter values to inject."""

    study: str
    notebook: Path
    parameters: dict[str, Any]
    declared: dict[str, Parameter]

    @property
    def seed(self) -> Any:
        return self.parameters.get("seed")


def find_studies(notebooks_dir: Path) -> dict[str, Path]:
    """Return every study notebook in `notebooks_dir` by name (file stem), sorted."""
    if not notebooks_dir.is_dir():
        raise ParameterError(f"notebooks directory not found: {notebooks_dir}")
    return {
        path.stem: path
        for path in sorted(notebooks_dir.glob("*.ipynb"))
        if not path.name.startswith(".")
    }


def plan_studies(
    notebooks_dir: Path,
    studies: Sequence[str] = (),
    params_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[StudyPlan]:
    """Return the plan for each selected study: the named ones, else those in the params
    file, else every notebook. ParameterError for unknown studies or parameters."""
    available = find_studies(notebooks_dir)
    param_set = load_parameter_set(params_file) if params_file else ParameterSet()
    for study in studies:
        if study not in available:
            raise ParameterError(
                f"unknown study {study!r}: no {notebooks_dir / (study + '.ipynb')}; "
                f"valid studies: {', '.join(available) or '(none)'}"
            )
    declared = {study: notebook_parameters(path) for study, path in available.items()}
    validate_parameter_set(param_set, declared)
    selected = list(dict.fromkeys(studies)) or list(param_set.studies) or list(available)
    if not selected:
        raise ParameterError(f"no study notebooks in {notebooks_dir}")
    overrides = overrides or {}
    check_overrides(overrides, {study: declared[study] for study in selected})
    return [
        StudyPlan(
            study=study,
            notebook=available[study],
            parameters=resolve_parameters(study, declared[study], param_set, overrides),
            declared=declared[study],
        )
        for study in selected
    ]
