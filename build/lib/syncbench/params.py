"""Parameter sets (params/*.yaml) checked against each study notebook's `parameters` cell.

A parameter set looks like::

    defaults:            # optional: for every study that declares the parameter
      seed: 1
    studies:
      example:
        samples: 200

A study's declared parameters (name, type, default, comment) come from its cell tagged
`parameters`, read with papermill. Unknown studies, unknown parameters and values of the
wrong type are `ParameterError`s that name the file, study and parameter.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from syncbench.param_types import ParameterTypeError, conform, notebook_annotation

# Set by the runner for every study; a parameter set may not choose them.
RUNNER_PARAMETERS = ("output_dir",)
# what `--list` and a notebook's parameters cell say of it
OUTPUT_DIR_HELP = "where results and raw data go (the runner sets it)"

class ParameterError(ValueError):
    """A parameter set, override or notebook parameter that cannot be used as given."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of a study: from its params class, or a notebook's `parameters` cell."""

    name: str
    type_name: str  # as annotated ("int", "list[str]"), "None" when not annotated
    default: Any  # the default's value, or its source text when it is not a literal
    help: str = ""

    @property
    def annotation(self) -> str:
        """The annotation, else the default's type name ("" when neither says anything)."""
        if self.type_name and self.type_name != "None":
            return self.type_name
        default = self.default
        if default is None or isinstance(default, _Source):
            return ""
        return type(default).__name__

    @property
    def type_name_shown(self) -> str:
        """The type as a user reads it: the annotation, else the default's type."""
        return notebook_annotation(self.annotation) if self.annotation else "any"

    def conform(self, value: Any) -> Any:
        """`value` as a notebook receives it (tuples as lists, ints as floats where a float is
        declared); ParameterTypeError says what is accepted."""
        return conform(self.annotation, value, tuples=False)


@dataclass(frozen=True)
class ParameterSet:
    """A parsed parameter file: values for all studies (`defaults`) and per study."""

    path: Path | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    studies: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "(no params file)"


def notebook_parameters(notebook: str | Path) -> dict[str, Parameter]:
    """Return the parameters declared in a notebook's cell tagged `parameters`, in order."""
    from papermill import inspect_notebook

    path = Path(notebook)
    if not path.is_file():
        raise ParameterError(f"notebook not found: {path}")
    try:
        inspected = inspect_notebook(str(path))
    except Exception as exc:  # papermill raises several kinds for unreadable notebooks
        raise ParameterError(f"{path}: cannot read its parameters cell: {exc}") from None
    return {
        name: Parameter(
            name=name,
            type_name=info["inferred_type_name"],
            default=_literal(info["default"]),
            help=info["help"],
        )
        for name, info in inspected.items()
    }


def load_parameter_set(path: str | Path) -> ParameterSet:
    """Read and shape-check a parameter file; ParameterError says what is wrong and where."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"params file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{path}: not UTF-8 text (byte {exc.start} is "
                             f"{exc.object[exc.start:exc.start + 1]!r}); save it as UTF-8"
                             ) from None
    except OSError as exc:
        raise ParameterError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML: {_one_line(exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParameterError(
            f"{path}: expected a mapping with 'studies' (and optional "
            f"'defaults'), got {type(data).__name__}"
        )
    unknown = sorted(set(data) - {"studies", "defaults"})
    if unknown:
        raise ParameterError(
            f"{path}: unknown top-level key(s) {', '.join(map(str, unknown))}; "
            "valid: defaults, studies"
        )
    defaults = _mapping(data.get("defaults"), f"{path}: 'defaults'")
    studies_raw = _mapping(data.get("studies"), f"{path}: 'studies'")
    studies = {
        str(study): _mapping(values, f"{path}: study {study!r}")
        for study, values in studies_raw.items()
    }
    return ParameterSet(path=path, defaults=defaults, studies=studies)


def parse_override(text: str) -> tuple[str, Any]:
    """Parse a `-p key=value` override; the value is read as a YAML scalar ("3", "true", "a")."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise ParameterError(f"bad override {text!r}: expected key=value, e.g. -p seed=3")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ParameterError(f"bad override {text!r}: {_one_line(exc)}") from None
    return key, value


def parse_overrides(texts: Iterable[str]) -> dict[str, Any]:
    """Parse many `key=value` overrides; a later one wins."""
    return dict(parse_override(text) for text in texts)


def validate_parameter_set(
    param_set: ParameterSet, declared: Mapping[str, Mapping[str, Parameter]]
) -> None:
    """Check every study and parameter in `param_set` against the studies' notebooks.

    `declared` maps each available study to its notebook's parameters.
    """
    for study in param_set.studies:
        if study not in declared:
            raise ParameterError(
                f"{param_set.source}: unknown study {study!r}; valid studies: {_listing(declared)}"
            )
    for name in param_set.defaults:
        _check_runner_owned(name, f"{param_set.source}: defaults")
        if not any(name in params for params in declared.values()):
            raise ParameterError(
                f"{param_set.source}: defaults: parameter {name!r} is declared by no study"
            )
    for study, values in param_set.studies.items():
        for name, value in values.items():
            _check_value(declared[study], study, name, value, param_set.source)


def resolve_parameters(
    study: str,
    declared: Mapping[str, Parameter],
    param_set: ParameterSet | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the values to inject into `study`: notebook defaults < file defaults < file
    study values < overrides. Only parameters the notebook declares are returned."""
    param_set = param_set or ParameterSet()
    values: dict[str, Any] = {}
    for name, parameter in declared.items():
        if name in RUNNER_PARAMETERS:
            continue
        if isinstance(parameter.default, _Source):
            continue  # not a literal: leave the notebook's own expression in place
        values[name] = parameter.default
    for name, value in param_set.defaults.items():
        if name in declared:
            values[name] = _check_value(declared, study, name, value, param_set.source)
    for name, value in param_set.studies.get(study, {}).items():
        values[name] = _check_value(declared, study, name, value, param_set.source)
    for name, value in (overrides or {}).items():
        if name in declared:
            values[name] = _check_value(declared, study, name, value, "-p override")
    return values


def check_overrides(
    overrides: Mapping[str, Any], declared: Mapping[str, Mapping[str, Parameter]]
) -> None:
    """Fail when an override names a parameter that none of the selected studies declares."""
    for name in overrides:
        _check_runner_owned(name, "-p override")
        if not any(name in params for params in declared.values()):
            valid = sorted(
                {p for params in declared.values() for p in params} - set(RUNNER_PARAMETERS)
            )
            raise ParameterError(
                f"-p override: parameter {name!r} is declared by none of the selected studies "
                f"({_listing(declared)}); valid parameters: {', '.join(valid) or '(none)'}"
            )


def _check_value(
    declared: Mapping[str, Parameter], study: str, name: str, value: Any, source: str
) -> Any:
    _check_runner_owned(name, f"{source}: study {study!r}")
    parameter = declared.get(name)
    if parameter is None:
        valid = [p for p in declared if p not in RUNNER_PARAMETERS]
        raise ParameterError(
            f"{source}: study {study!r} has no parameter {name!r}; valid parameters: "
            f"{', '.join(valid) or '(none)'}"
        )
    try:
        return parameter.conform(value)
    except ParameterTypeError as exc:
        raise ParameterError(f"{source}: study {study!r} parameter {name!r} {exc}") from None


def _check_runner_owned(name: str, where: str) -> None:
    if name in RUNNER_PARAMETERS:
        raise ParameterError(f"{where}: {name!r} is set by the runner and cannot be given")


class _Source(str):
    """A default that is an expression, not a literal: kept as its source text."""


def _literal(source: str) -> Any:
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _Source(source)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ParameterError(
            f"{where} must be a mapping of name: value, got {type(value).__name__}"
        )
    return {str(key): item for key, item in value.items()}


def _listing(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "(none)"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
