"""Which studies a run executes and with which parameters, all validated before anything runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncbench.minimal import MINIMAL_SUFFIX
from syncbench.params import (
    OUTPUT_DIR_HELP,
    Parameter,
    ParameterError,
    ParameterSet,
    check_overrides,
    load_parameter_set,
    notebook_parameters,
    resolve_parameters,
    validate_parameter_set,
)

if TYPE_CHECKING:
    from syncbench.study import Study


@dataclass(frozen=True)
class StudyPlan:
    """One study to run: its notebook and the parameter values to inject."""

    study: str
    notebook: Path
    parameters: dict[str, Any]
    declared: dict[str, Parameter]
    timed: bool = False  # its verdicts rest on timings (Study.timed): run without coverage

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


def _registered(study: str, notebook: Path) -> Study[Any] | None:
    """The registered study this notebook runs; None for an ad-hoc notebook."""
    from syncbench.study import registered_studies  # imports every study: only when planning

    registered = registered_studies().get(study)
    if registered is None or registered.notebook_path.resolve() != notebook.resolve():
        return None
    return registered


def is_timed(study: str, notebook: Path) -> bool:
    """Whether the registered study's verdicts rest on timings (ad-hoc notebooks: no)."""
    registered = _registered(study, notebook)
    return bool(registered and registered.timed)


def declared_parameters(study: str, notebook: Path) -> dict[str, Parameter]:
    """A study's parameters: from its params class when it is registered (the one source),
    else from its notebook's `parameters` cell (ad-hoc notebooks)."""
    registered = _registered(study, notebook)
    if registered is None:
        return notebook_parameters(notebook)
    return {
        "output_dir": Parameter("output_dir", "str", ".", OUTPUT_DIR_HELP),
        **{name: Parameter(name, info.annotation, info.default, info.help)
           for name, info in registered.params.fields_info().items()},
    }


def check_study_parameters(study: str, notebook: Path, values: dict[str, Any],
                           source: str) -> None:
    """Make the registered study's params object from `values`, so a rule that spans fields
    (an unknown profile, too few replicas) fails here, before any server starts."""
    from syncbench.study import StudyParamError

    registered = _registered(study, notebook)
    if registered is None:
        return
    try:
        registered.params.from_mapping(values)
    except StudyParamError as exc:
        raise ParameterError(f"{source}: study {study!r} {exc}") from None


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
    declared = {study: declared_parameters(study, path) for study, path in available.items()}
    validate_parameter_set(param_set, declared)
    selected = list(dict.fromkeys(studies)) or list(param_set.studies) or list(available)
    if not selected:
        raise ParameterError(f"no study notebooks in {notebooks_dir}")
    overrides = overrides or {}
    check_overrides(overrides, {study: declared[study] for study in selected})
    plans = [
        StudyPlan(
            study=study,
            notebook=available[study],
            parameters=resolve_parameters(study, declared[study], param_set, overrides),
            declared=declared[study],
            timed=is_timed(study, available[study]),
        )
        for study in selected
    ]
    source = f"{param_set.source}{' and -p overrides' if overrides else ''}"
    for plan in plans:
        check_study_parameters(plan.study, plan.notebook, plan.parameters, source)
    return plans


def plan_replay(
    path: Path,
    notebooks_dir: Path,
    overrides: dict[str, Any] | None = None,
    study_named: str | None = None,
) -> StudyPlan:
    """The plan that runs a study again from a file a run left:

    - `<study>.summary.json`: the same parameters and seed, and the fault schedule it played
      (in place of a generated one);
    - `<study>.minimal.json` (syncbench.minimal): the shrunk failing case, whose parameters
      carry the minimal `operations` and `schedule`.

    `study_named`, when the command line names a study too, must be the file's study.
    """
    recorded = _replay_file(path)
    study = recorded["study"]
    if study_named is not None and study_named != study:
        raise ParameterError(f"--replay: {path} is of study {study!r}, not {study_named!r}; "
                             f"run `syncbench run {study} --replay {path}` or drop the name")
    available = find_studies(notebooks_dir)
    if study not in available:
        raise ParameterError(f"--replay: the file is of study {study!r}, which has no "
                             f"notebook in {notebooks_dir}")
    declared = declared_parameters(study, available[study])
    minimal = path.name.endswith(MINIMAL_SUFFIX)
    played_by = str(recorded.get("operations_parameter") or "operations")
    if minimal and played_by not in declared:
        raise ParameterError(f"--replay: {path} is a minimal case (an operation schedule), but "
                             f"study {study!r} takes no `{played_by}` parameter to play it; "
                             "replay its <study>.summary.json instead")
    values = {name: value for name, value in recorded["parameters"].items()
              if name in declared and name != "output_dir"}
    if recorded.get("seed") is not None and "seed" in declared:
        values["seed"] = recorded["seed"]
    # a summary keeps the schedule as played beside the parameters; a minimal file keeps its
    # minimal schedule in them
    if not minimal and recorded.get("schedule") and "schedule" in declared:
        values["schedule"] = recorded["schedule"]
    replayed = ParameterSet(path=path, studies={study: values})
    overrides = overrides or {}
    check_overrides(overrides, {study: declared})
    parameters = resolve_parameters(study, declared, replayed, overrides)
    check_study_parameters(study, available[study], parameters, f"--replay {path}")
    return StudyPlan(study=study, notebook=available[study], parameters=parameters,
                     declared=declared, timed=is_timed(study, available[study]))


def _replay_file(path: Path) -> dict[str, Any]:
    """A `<study>.summary.json` or `<study>.minimal.json`, read and shape-checked."""
    what = "a <study>.summary.json or <study>.minimal.json from a run's output directory"
    if not path.is_file():
        raise ParameterError(f"--replay: no such file {path}; give {what}")
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParameterError(f"--replay: {path} is not a study summary or minimal case "
                             f"(JSON): {exc}") from None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("study"), str) or (
            not isinstance(recorded.get("parameters"), dict)):
        raise ParameterError(f"--replay: {path} has no study and parameters; give {what} "
                             "(not the run's summary.json)")
    return recorded
