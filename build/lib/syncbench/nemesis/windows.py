"""Fault windows, from the History only: one shape, in UTC, for every chart and check."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from syncbench.history import OK, History, Operation, operations_of
from syncbench.nemesis.nemesis import PROCESS

WINDOW_COLUMNS = ("fault_id", "fault", "target", "profile", "phase", "start", "end", "healed",
                  "began")


def fault_windows(history: History | Iterable[Operation]) -> pd.DataFrame:
    """One row per fault the nemesis put on: fault (kind), target, profile (its label,
    e.g. "wan" or "offline"), phase, start and end (UTC datetimes) and healed.

    A window starts when its `start` operation completed (the fault was fully on) and ends
    when its `stop` completed (fully off); `began` is when the start was asked for (a
    graceful stop takes effect, refusing and closing connections, while it is on its way). A fault never stopped ends at the history's last
    completion, with healed False.
    """
    # each phase's nemesis numbers its faults from 1: a fault is (phase, fault_id)
    starts: dict[tuple[str | None, int], Operation] = {}
    stops: dict[tuple[str | None, int], Operation] = {}
    last = 0.0
    for op in operations_of(history):
        last = max(last, op.complete_time or op.invoke_time)
        if op.client != PROCESS:
            continue
        fault = (op.args.get("phase"), op.args.get("fault_id"))
        if op.operation == "start" and op.outcome == OK:
            starts[fault] = op
        elif op.operation == "stop":
            stops[fault] = op
    rows = []
    for (phase, fault_id), start in starts.items():
        stop = stops.get((phase, fault_id))
        healed = stop is not None and stop.outcome == OK
        end = (stop.complete_time or stop.invoke_time) if stop is not None else last
        rows.append((fault_id, start.args.get("fault"), start.args.get("target"),
                     start.args.get("label"), start.args.get("phase"),
                     start.complete_time, end, healed, start.invoke_time))
    frame = pd.DataFrame(rows, columns=list(WINDOW_COLUMNS))
    for column in ("start", "end", "began"):
        frame[column] = pd.to_datetime(frame[column].astype("float64"), unit="s", utc=True)
    return frame.sort_values("start", kind="stable").reset_index(drop=True)


__all__ = ["WINDOW_COLUMNS", "fault_windows"]
