"""Each study notebook's parameters cell matches its study's parameter class."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncbench.params import notebook_parameters
from syncbench.plain import plain
from syncbench.studies import conflicts, performance, resilience, sync
from syncbench.studies.notebook import params_from_notebook

NOTEBOOKS = Path(__file__).resolve().parents[4] / "notebooks"
STUDIES = {
    "sync": sync.SyncParams,
    "resilience": resilience.ResilienceParams,
    "conflicts": conflicts.ConflictParams,
    "performance": performance.PerformanceParams,
}
# What a notebook itself acts on, not its study: where results go, whether to store a baseline.
NOTEBOOK_ONLY = {"output_dir", "save_baseline"}


@pytest.mark.parametrize("study", sorted(STUDIES))
def test_every_notebook_parameter_reaches_the_study(study: str) -> None:
    parameters = notebook_parameters(NOTEBOOKS / f"{study}.ipynb")
    names = set(parameters) - NOTEBOOK_ONLY
    fields = set(STUDIES[study].__dataclass_fields__)
    assert names <= fields, f"{study}.ipynb sets parameters its study ignores: {names - fields}"


@pytest.mark.parametrize("study", sorted(STUDIES))
def test_notebook_defaults_make_valid_parameters(study: str) -> None:
    parameters = notebook_parameters(NOTEBOOKS / f"{study}.ipynb")
    namespace = {name: p.default for name, p in parameters.items()}
    params = params_from_notebook(STUDIES[study], {**namespace, "unrelated_variable": 1})
    for name, value in namespace.items():
        if name not in NOTEBOOK_ONLY:
            assert plain(getattr(params, name)) == plain(value), name


def test_a_bad_value_is_refused_by_the_study() -> None:
    with pytest.raises(ValueError):
        params_from_notebook(sync.SyncParams, {"replicas": -1})
