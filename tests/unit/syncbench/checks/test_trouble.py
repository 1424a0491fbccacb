"""errors_only_under_faults: a 5xx or a broken connection needs a fault on its group."""

from __future__ import annotations

import pandas as pd

from syncbench.checks import errors_only_under_faults
from syncbench.history import History, Operation

T0 = 1_800_000_000.0
WINDOWS = pd.DataFrame([{"fault": "offline", "target": "client-0", "phase": "lan",
                         "start": pd.Timestamp(T0 + 10, unit="s", tz="UTC"),
                         "end": pd.Timestamp(T0 + 12, unit="s", tz="UTC")}])


def group_of(client: str) -> str:
    return f"client-{client[1:]}"


def op(history: History, client: str, at: float, *attempts: str) -> Operation:
    handle = history.invoke(client, "create")
    handle.op.invoke_time, handle.op.attempt_outcomes = T0 + at, list(attempts)
    handle.ok()
    handle.op.complete_time = T0 + at + 0.5
    return handle.op


def correct() -> History:
    history = History()
    op(history, "c0", 1.0, "ok")
    op(history, "c0", 10.5, "ConnectError", "ConnectError", "ok")  # in its group's window
    op(history, "c0", 12.6, "ReadError", "ok")                     # within the grace after
    op(history, "c1", 3.0, "412")                                  # a refusal, not trouble
    return history


def test_trouble_inside_its_groups_fault_window_passes() -> None:
    result = errors_only_under_faults(correct(), WINDOWS, group_of)
    assert result.verdict == "pass", result.message
    assert result.observed == ("0 unexplained of 2 operations that met trouble, "
                               "4 with attempts")


def test_a_5xx_or_a_reset_with_no_fault_on_its_group_fails() -> None:
    history = correct()
    op(history, "c1", 11.0, "500", "ok")               # c0's window is not c1's
    op(history, "c0", 30.0, "RemoteProtocolError", "ok")  # long after c0's window
    result = errors_only_under_faults(history, WINDOWS, group_of)
    assert result.verdict == "fail"
    assert [e["client"] for e in result.counterexample] == ["c1", "c0"]
    assert "met 500 with no fault on client-1 or the server" in result.counterexample[0]["why"]
    # a fault on the server itself explains anyone's trouble
    server = WINDOWS.assign(target="server", start=WINDOWS["start"] + pd.Timedelta(seconds=19),
                            end=WINDOWS["end"] + pd.Timedelta(seconds=19))
    both = pd.concat([WINDOWS, server], ignore_index=True)
    assert len(errors_only_under_faults(history, both, group_of).counterexample) == 1


def test_no_attempts_recorded_is_unknown() -> None:
    history = History()
    history.invoke("c0", "subscribe").ok()
    assert errors_only_under_faults(history, WINDOWS, group_of).verdict == "unknown"


def test_a_fault_bites_from_when_it_was_asked_for_not_only_once_it_is_on() -> None:
    # a graceful restart refuses and closes connections while the server shuts down: the
    # window is on (the process gone) only seconds after the stop was asked for
    restart = pd.DataFrame([{"fault": "restart", "target": "server", "phase": "lan",
                             "began": pd.Timestamp(T0 + 20, unit="s", tz="UTC"),
                             "start": pd.Timestamp(T0 + 25, unit="s", tz="UTC"),
                             "end": pd.Timestamp(T0 + 26, unit="s", tz="UTC")}])
    history = History()
    op(history, "c1", 21.0, "RemoteProtocolError", "ReadError", "ok")
    assert errors_only_under_faults(history, restart, group_of).passed
    before = History()
    op(before, "c1", 17.0, "RemoteProtocolError", "ok")  # before it was asked for, and grace
    assert not errors_only_under_faults(before, restart, group_of).passed
