"""Fault windows from the History only: one shape, UTC, paired by fault id."""

from __future__ import annotations

import pandas as pd

from syncbench.history import History, Operation
from syncbench.nemesis import PROCESS, WINDOW_COLUMNS, fault_windows


def nemesis_op(op_id: int, operation: str, fault_id: int, at: float,
               outcome: str = "ok") -> Operation:
    return Operation(op_id, PROCESS, operation,
                     {"fault_id": fault_id, "fault": "network", "target": "clients",
                      "label": "wan", "phase": None}, at - 0.1, at - 0.1, at, at, outcome)


def test_a_window_is_from_start_completed_to_stop_completed_in_utc() -> None:
    history = History(operations=[nemesis_op(1, "start", 1, 100.0),
                                  nemesis_op(2, "stop", 1, 102.5)])
    frame = fault_windows(history)
    assert tuple(frame.columns) == WINDOW_COLUMNS
    row = frame.iloc[0]
    assert row["start"] == pd.Timestamp(100.0, unit="s", tz="UTC")
    assert row["began"] == pd.Timestamp(99.9, unit="s", tz="UTC")  # when it was asked for
    assert row["end"] == pd.Timestamp(102.5, unit="s", tz="UTC")
    assert (row["fault"], row["target"], row["profile"], bool(row["healed"])) == (
        "network", "clients", "wan", True)


def test_a_fault_never_stopped_ends_at_the_last_completion_unhealed() -> None:
    work = Operation(3, "c1", "create", {}, 104.0, 104.0, 105.0, 105.0, "ok")
    history = History(operations=[nemesis_op(1, "start", 1, 100.0), work])
    row = fault_windows(history).iloc[0]
    assert row["end"] == pd.Timestamp(105.0, unit="s", tz="UTC") and not row["healed"]


def test_a_start_that_failed_is_no_window_and_the_frame_keeps_its_columns() -> None:
    frame = fault_windows(History(operations=[nemesis_op(1, "start", 1, 100.0, "info")]))
    assert frame.empty and tuple(frame.columns) == WINDOW_COLUMNS


def test_windows_read_the_same_from_a_history_frame() -> None:
    history = History(operations=[nemesis_op(1, "start", 1, 100.0),
                                  nemesis_op(2, "stop", 1, 101.0)])
    assert fault_windows(history.to_frame()).equals(fault_windows(history))


def _fault(history: History, phase: str, fault_id: int, target: str) -> None:
    history.invoke(PROCESS, "start", fault_id=fault_id, fault="offline", target=target,
                   label="offline", phase=phase).ok()
    history.invoke(PROCESS, "stop", fault_id=fault_id, fault="offline", target=target,
                   label="offline", phase=phase).ok()


def test_phases_numbering_their_faults_alike_keep_every_window() -> None:
    history = History()
    _fault(history, "lan", 1, "replica-0")
    _fault(history, "wan", 1, "replica-2")
    history.invoke(PROCESS, "start", fault_id=2, fault="offline", target="subscriber-0",
                   label="offline", phase="wan").ok()

    windows = fault_windows(history)

    assert list(zip(windows["phase"], windows["fault_id"], windows["target"],
                    windows["healed"], strict=True)) == [
        ("lan", 1, "replica-0", True), ("wan", 1, "replica-2", True),
        ("wan", 2, "subscriber-0", False)]
    assert (windows["end"] >= windows["start"]).all()
