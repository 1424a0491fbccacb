"""syncbench.plain: one meaning of "plain data" for JSON, CSV and counterexamples."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
import pytest

from syncbench.plain import is_missing, json_ready, plain, to_json


@dataclasses.dataclass
class Window:
    start: dt.datetime
    label: str
    counts: tuple[int, ...]


class Snapshot(msgspec.Struct):
    content: str
    version: int


@pytest.mark.parametrize("value", [None, math.nan, np.nan, pd.NA, pd.NaT, np.float64("nan")])
def test_missing_values_are_missing_and_become_none(value: object) -> None:
    assert is_missing(value)
    assert plain(value) is None


@pytest.mark.parametrize("value", [0, 0.0, "", False, [], "nan", [math.nan], np.array([1.0])])
def test_present_values_are_not_missing(value: object) -> None:
    assert not is_missing(value)


@pytest.mark.parametrize("value, expected", [
    (np.int64(7), 7), (np.float32(0.5), 0.5), (np.bool_(True), True), (True, True),
    (3, 3), ("text", "text"),
])
def test_numpy_scalars_become_python_scalars_of_the_same_kind(value: object,
                                                             expected: object) -> None:
    result = plain(value)
    assert result == expected
    assert type(result) is type(expected)


def test_bools_stay_bools_and_are_not_turned_into_ints() -> None:
    assert plain(np.bool_(False)) is False
    assert plain(True) is True


def test_datetimes_become_rfc3339_text_keeping_their_zone() -> None:
    moment = dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.UTC)
    assert plain(moment) == "2026-11-26T08:30:00+00:00"
    assert plain(pd.Timestamp(moment)) == "2026-11-26T08:30:00+00:00"
    assert plain(dt.date(2026, 1, 2)) == "2026-01-02"


def test_containers_become_lists_and_string_keyed_dicts_recursively() -> None:
    value = {1: (np.int64(2), {3}), "p": Path("/tmp/x"), "s": frozenset({"b", "a"})}
    assert plain(value) == {"1": [2, [3]], "p": "/tmp/x", "s": ["a", "b"]}


def test_dataclasses_structs_and_arrays_become_plain_fields() -> None:
    window = Window(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "wan", (1, 2))
    assert plain(window) == {"start": "2026-01-01T00:00:00+00:00", "label": "wan",
                             "counts": [1, 2]}
    assert plain(Snapshot("k", np.int64(3))) == {"content": "k", "version": 3}
    assert plain(np.array([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]


def test_json_ready_writes_infinities_as_text_and_unknown_objects_as_their_str() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque"

    ready = json_ready({"best": math.inf, "worst": -math.inf, "what": Opaque(),
                        "nested": [np.float64("inf")]})
    assert ready == {"best": "inf", "worst": "-inf", "what": "opaque", "nested": ["inf"]}
    json.dumps(ready, allow_nan=False)  # raises on anything JSON cannot hold


def test_plain_keeps_infinity_as_a_float_where_json_is_not_the_target() -> None:
    assert plain(math.inf) == math.inf


def test_to_json_refuses_nothing_plain_accepts() -> None:
    text = to_json({"nan": math.nan, "when": pd.Timestamp("2026-01-01", tz="UTC"),
                    "n": np.int32(4)}, indent=None)
    assert json.loads(text) == {"nan": None, "when": "2026-01-01T00:00:00+00:00", "n": 4}
