"""Plain data: what a study's values become before they go into JSON, CSV or a counterexample.

One converter for the whole workbench, so "plain" means one thing everywhere:

- numpy and pandas scalars become Python scalars; missing values (None, NaN, pd.NA, NaT)
  become None; infinities stay floats only where JSON is not the target (`json_ready`);
- datetimes become RFC 3339 strings (UTC when they carry a zone); paths become strings;
- tuples, sets and frozensets become lists; mappings become dicts with string keys;
- dataclasses and msgspec Structs become dicts of their fields, recursively.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import msgspec


def is_missing(value: Any) -> bool:
    """True for None, NaN, pd.NA and NaT: a value that is not there."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    import numpy as np
    import pandas as pd

    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return isinstance(result, bool | np.bool_) and bool(result)


def plain(value: Any) -> Any:
    """`value` as plain Python data (see the module docstring), recursively."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [plain(item) for item in items]
    if isinstance(value, msgspec.Struct):
        return plain(msgspec.structs.asdict(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, _dt.datetime | _dt.date):
        if is_missing(value):
            return None
        return value.isoformat()
    if is_missing(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy / pandas scalars
        try:
            return plain(value.item())
        except (TypeError, ValueError):
            pass
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays
        return plain(value.tolist())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def json_ready(value: Any) -> Any:
    """`plain(value)` with infinities as strings ("inf"), since JSON has no such number."""
    value = plain(value)
    if isinstance(value, float) and math.isinf(value):
        return str(value)
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    if not isinstance(value, int | float | str | bool | type(None)):
        return str(value)
    return value


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """`value` as JSON text (through `json_ready`)."""
    return json.dumps(json_ready(value), indent=indent, sort_keys=False, allow_nan=False)


__all__ = ["is_missing", "json_ready", "plain", "to_json"]
