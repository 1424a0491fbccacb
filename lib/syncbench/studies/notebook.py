"""A study's parameters, taken from the variables of its notebook's parameters cell."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

P = TypeVar("P")


def params_from_notebook(params_class: type[P], namespace: Mapping[str, Any]) -> P:
    """`params_class` filled from the notebook's variables of the same names (e.g. globals()).

    Every field the notebook defines is taken, so a parameter cannot be set in the cell and
    then silently left out; lists become tuples (the parameter classes are frozen).
    """
    values = {
        field.name: tuple(value) if isinstance(value, list) else value
        for field in dataclasses.fields(params_class)  # type: ignore[arg-type]
        if field.name in namespace and not field.name.startswith("_")
        for value in [namespace[field.name]]
    }
    return params_class(**values)
