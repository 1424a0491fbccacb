"""Operations to and from a DataFrame and a file, column by column (History's I/O).

A million operations is a normal long run, and every check that accepts a frame rebuilds
Operations from it (`operations_of(frame)`), so these are written a column at a time:
one list comprehension or numpy conversion per column instead of a dict per row (`to_dict`
and `Operation.from_dict` per row cost ~12x more). `benchmarks.analysis` measures them.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import gc
import json
import math
import typing
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from syncbench.history import Operation

_NAN = math.nan


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that form no cycles.

    Each young-generation collection walks what was just built, and the full ones walk the
    whole heap (a million Operations); building a million without pausing costs about as
    much again in collections as in the building itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def operations_to_frame(ops: Sequence[Operation], columns: Sequence[str]) -> pd.DataFrame:
    """One row per operation: `columns` (History's COLUMNS), then `arg_<name>` per argument
    name (sorted), then `time` (invoke, UTC) and `latency_ms`. The `args` cells are the
    operations' own dicts, not copies (a million copies cost ~200 MiB): read them only."""
    with bulk():
        return _to_frame(ops, columns)


def _to_frame(ops: Sequence[Operation], columns: Sequence[str]) -> pd.DataFrame:
    latency = [None if op.complete_monotonic is None else op.complete_monotonic
               - op.invoke_monotonic for op in ops]
    data: dict[str, Any] = {
        "op_id": [op.op_id for op in ops],
        "client": [op.client for op in ops],
        "operation": [op.operation for op in ops],
        "args": [op.args for op in ops],  # the operations' own dicts: read, never changed
        "invoke_time": [op.invoke_time for op in ops],
        "invoke_monotonic": [op.invoke_monotonic for op in ops],
        "complete_time": [op.complete_time for op in ops],
        "complete_monotonic": [op.complete_monotonic for op in ops],
        "latency_s": latency,
        "outcome": [op.outcome for op in ops],
        "attempts": pd.array([op.attempts for op in ops], dtype="Int64"),
        "error": [op.error for op in ops],
        "task_id": [op.task_id for op in ops],
        "version": pd.array([op.version for op in ops], dtype="Int64"),
        "seq": pd.array([op.seq for op in ops], dtype="Int64"),
    }
    frame = pd.DataFrame({name: data[name] for name in columns})
    # one pass over the arguments (a few per operation), not one pass per argument name
    arg_values: dict[str, list[Any]] = {}
    size = len(ops)
    for row, op in enumerate(ops):
        for name, value in op.args.items():
            values = arg_values.get(name)
            if values is None:
                values = arg_values[name] = [None] * size
            values[row] = value
    arg_columns = {f"arg_{name}": arg_values[name] for name in sorted(arg_values)}
    # UTC datetimes, the one time convention of charts (fault windows use it too)
    invoked = frame["invoke_time"].astype("float64")
    extra = {**arg_columns,
             "time": pd.to_datetime(invoked, unit="s", utc=True),
             "latency_ms": frame["latency_s"].astype("float64") * 1000.0}
    return pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)


def operations_from_another_clock(rows: Iterable[dict[str, Any]], offset_s: float,
                                  wall_now: float, monotonic_now: float,
                                  args: dict[str, Any]) -> list[Operation]:
    """Operations another process recorded (`Operation.to_dict` rows), on this process's
    clocks: wall times less `offset_s` (how far its clock is ahead), monotonic times ours
    as read at those wall times (`wall_now`/`monotonic_now`: one reading of both here),
    each latency kept; `args` added to each; op ids 0 (the History numbers them)."""
    from syncbench.history import Operation

    mono_at_wall = monotonic_now - wall_now  # both clocks tick at one rate here
    ops = []
    for row in rows:
        op = Operation.from_dict({**row, "op_id": 0})
        latency = op.latency_s
        op.invoke_time -= offset_s
        op.invoke_monotonic = op.invoke_time + mono_at_wall
        if op.complete_time is not None:
            op.complete_time -= offset_s
            op.complete_monotonic = (op.invoke_monotonic + latency if latency is not None
                                     else op.complete_time + mono_at_wall)
        op.args.update(args)
        ops.append(op)
    return ops


def operations_from_frame(frame: pd.DataFrame, *, only: Collection[str] | None = None,
                          outcome: str | None = None) -> list[Operation]:
    """The Operations a `to_frame` frame (or a filtered one, or one read from CSV) holds;
    `only` and `outcome` keep those rows (see `operations_of`) before any is rebuilt.

    Their `args` are the frame's own dicts (not copies): checks only read them.
    """
    if only is not None or outcome is not None:
        keep = np.ones(len(frame), dtype=bool)
        if only is not None:
            keep &= frame["operation"].isin(list(only)).to_numpy(dtype=bool)
        if outcome is not None:
            keep &= (frame["outcome"] == outcome).to_numpy(dtype=bool)
        # only the columns an Operation is made of: the arg_* columns are not copied
        frame = frame.loc[keep, [name for name in frame.columns if name in _OPERATION_COLUMNS]]
    with bulk():
        return _from_frame(frame)


_OPERATION_COLUMNS = frozenset({
    "op_id", "client", "operation", "args", "invoke_time", "invoke_monotonic", "complete_time",
    "complete_monotonic", "outcome", "attempts", "error", "task_id", "version", "seq"})


def _from_frame(frame: pd.DataFrame) -> list[Operation]:
    from syncbench.history import PENDING, Operation

    size = len(frame)

    def column(name: str) -> pd.Series:
        return frame[name] if name in frame.columns else pd.Series([None] * size, dtype=object)

    op_ids = [int(value) for value in _floats(column("op_id"))]
    strings = {name: _strings(column(name)) for name in ("client", "operation")}
    args = [_args(value) for value in column("args").tolist()]
    outcome = [value if isinstance(value, str) and value else PENDING
               for value in column("outcome").tolist()]
    error = [value or "" for value in _optional_strings(column("error"))]
    task_id = _optional_strings(column("task_id"))
    return [
        Operation(*row) for row in zip(
            op_ids, strings["client"], strings["operation"], args,
            _floats(column("invoke_time")), _floats(column("invoke_monotonic")),
            _optional(_floats(column("complete_time"))),
            _optional(_floats(column("complete_monotonic"))), outcome,
            _optional_ints(column("attempts")), error, task_id,
            _optional_ints(column("version")), _optional_ints(column("seq")), strict=True)
    ]


def _floats(series: pd.Series) -> list[float]:
    """The column as Python floats, NaN for a missing value (numeric or text columns)."""
    if not pd.api.types.is_numeric_dtype(series.dtype):
        series = pd.to_numeric(series.replace("", None), errors="raise")
    return series.to_numpy(dtype="float64", na_value=_NAN).tolist()


def _optional(values: list[float]) -> list[float | None]:
    return [None if value != value else value for value in values]


def _optional_ints(series: pd.Series) -> list[int | None]:
    return [None if value != value else int(value) for value in _floats(series)]


def _strings(series: pd.Series) -> list[str]:
    return [value if value.__class__ is str else str(value) for value in series.tolist()]


def _optional_strings(series: pd.Series) -> list[str | None]:
    """Text values, None for a missing or empty one."""
    return [value if value.__class__ is str and value else optional_text(value)
            for value in series.tolist()]


def _args(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        return json.loads(value) if value else {}
    return {}


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value == "":
        return True
    return isinstance(value, float) and math.isnan(value)


def optional_float(value: Any) -> float | None:
    """A saved cell as a float; None for an empty or missing one."""
    return None if _missing(value) else float(value)


def optional_int(value: Any) -> int | None:
    """A saved cell as an int ("3", 3.0 and 3 alike); None for an empty or missing one."""
    return None if _missing(value) else int(float(value))


def optional_text(value: Any) -> str | None:
    """A saved cell as text; None for an empty or missing one."""
    return None if _missing(value) else str(value)


def save_operations(ops: Sequence[Operation], path: Path, columns: Sequence[str]) -> Path:
    """Write CSV (`.csv`: `args` as JSON, None as empty) or JSON lines (anything else)."""
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(_csv_row(op) for op in ops)
        return path
    encoder = msgspec.json.Encoder(order="sorted")
    with path.open("wb") as handle:
        for start in range(0, len(ops), 10_000):
            handle.write(b"".join(encoder.encode(op.to_dict()) + b"\n"
                                  for op in ops[start:start + 10_000]))
    return path


_ARGS_ENCODER = msgspec.json.Encoder(order="sorted")


def _csv_row(op: Operation) -> list[Any]:
    latency = (None if op.complete_monotonic is None
               else op.complete_monotonic - op.invoke_monotonic)
    row = [op.op_id, op.client, op.operation, _ARGS_ENCODER.encode(op.args).decode(),
           op.invoke_time, op.invoke_monotonic, op.complete_time, op.complete_monotonic,
           latency, op.outcome, op.attempts, op.error, op.task_id, op.version, op.seq]
    return ["" if value is None else value for value in row]


@functools.cache
def _saved_operation() -> type[msgspec.Struct]:
    """One JSON line as `save_operations` writes it: Operation's fields, read straight into a
    typed struct (`latency_s` is derived, not read; `error` may be null)."""
    from syncbench.history import Operation

    hints = typing.get_type_hints(Operation)
    hints["error"] = str | None
    fields: list[tuple[Any, ...]] = [
        (f.name, hints[f.name]) if f.default is dataclasses.MISSING
        else (f.name, hints[f.name], f.default)
        for f in dataclasses.fields(Operation) if f.name != "attempt_outcomes"]
    return msgspec.defstruct("SavedOperation", fields)


_TEXT_COLUMNS = ("client", "operation", "args", "outcome", "error", "task_id")
_NUMBER_COLUMNS = ("op_id", "invoke_time", "invoke_monotonic", "complete_time",
                   "complete_monotonic", "latency_s", "attempts", "version", "seq")


def _read_csv(path: Path) -> pd.DataFrame:
    """A saved CSV as a frame: numbers parsed by pandas (an empty cell is NaN), text kept
    as written (an empty cell is "", and "NaN" or "null" stay text)."""
    return pd.read_csv(path, keep_default_na=False,
                       dtype={**dict.fromkeys(_TEXT_COLUMNS, str),
                              **dict.fromkeys(_NUMBER_COLUMNS, "float64")},
                       na_values=dict.fromkeys(_NUMBER_COLUMNS, [""]))


def load_operations(path: Path) -> list[Operation]:
    """The Operations `save_operations` wrote: CSV read a column at a time (all text, ""
    for None, then converted like a frame), JSON lines decoded straight into their fields
    (a line of another shape, e.g. hand-written, is read through Operation.from_dict)."""
    from syncbench.history import Operation

    with bulk():
        if path.suffix == ".csv":
            return _from_frame(_read_csv(path))
        typed = msgspec.json.Decoder(_saved_operation())
        ops = []
        with path.open("rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    row = typed.decode(line)
                except msgspec.ValidationError:
                    ops.append(Operation.from_dict(msgspec.json.decode(line)))
                    continue
                ops.append(Operation(
                    row.op_id, row.client, row.operation, row.args, row.invoke_time,
                    row.invoke_monotonic, row.complete_time, row.complete_monotonic,
                    row.outcome, row.attempts, row.error or "", row.task_id, row.version,
                    row.seq))
        return ops


__all__ = ["bulk", "load_operations", "operations_from_another_clock", "operations_from_frame",
           "operations_to_frame", "optional_float", "optional_int", "optional_text",
           "save_operations"]
