"""The mcp study's checks over made-up histories and attempts: each one can fail."""

from __future__ import annotations

import pandas as pd
import pytest

from syncbench.history import History
from syncbench.studies.mcp.analysis import (
    acknowledged_writes_kept,
    attempts_frame,
    errors_only_under_faults,
    every_call_answered,
    no_duplicate_tasks,
    recovery,
)
from syncbench.studies.mcp.params import McpParams
from syncbench.studies.mcp.schedule import mcp_schedule
from syncbench.study import StudyParamError

T0 = 1_700_000_000.0


def _windows(*spans: tuple[str, str, float, float]) -> pd.DataFrame:
    rows = [{"fault_id": n, "fault": fault, "target": "default", "profile": profile,
             "phase": None, "start": start, "end": end, "healed": True, "began": start}
            for n, (fault, profile, start, end) in enumerate(spans, 1)]
    frame = pd.DataFrame(rows)
    for column in ("start", "end", "began"):
        frame[column] = pd.to_datetime(frame[column] + T0, unit="s", utc=True)
    return frame


def _attempt(client: str, started: float, outcome: str, ended: float | None = None) -> dict:
    return {"client": client, "op_id": 1, "tool": "create_task", "attempt": 1, "session": 1,
            "started": T0 + started, "ended": T0 + (ended or started + 0.01),
            "outcome": outcome, "error": ""}


def _task(task_id: str, content: str, version: int = 1) -> dict:
    return {"id": task_id, "content": content, "version": version}


def _history() -> History:
    history = History()
    history.invoke("mcp-0", "create_task", key="k1", content="k1").ok(task_id="t1", version=1)
    history.invoke("mcp-0", "update_task", key="u1", task_id="t1", content="u1").ok(version=2)
    return history


def _created(task_id: str, content: str) -> dict:
    return {"type": "task_created", "task_id": task_id, "task": {"content": content}}


def test_two_tasks_made_under_one_key_are_duplicates_even_when_one_was_updated() -> None:
    history = _history()
    updated = {"type": "task_updated", "task_id": "t1", "task": {"content": "u1"}}
    assert no_duplicate_tasks(history, [_created("t1", "k1"), updated]).passed
    # the acknowledged copy t1 was updated (content u1): the duplicate t2 alone carries k1
    check = no_duplicate_tasks(history, [_created("t1", "k1"), updated, _created("t2", "k1")])
    assert not check.passed and check.counterexample[0]["task_ids"] == ["t1", "t2"]


@pytest.mark.parametrize("tasks", [{}, {"t1": _task("t1", "u1", 1)},
                                   {"t1": _task("t1", "k1", 2)}])
def test_a_missing_task_an_older_version_or_other_content_is_a_lost_write(tasks: dict) -> None:
    assert not acknowledged_writes_kept(_history(), tasks).passed
    assert acknowledged_writes_kept(_history(), {"t1": _task("t1", "u1", 2)}).passed


def test_an_unanswered_call_fails_every_call_answered() -> None:
    history = _history()
    assert every_call_answered(history).passed
    history.invoke("mcp-1", "create_task", key="k2", content="k2").info("no answer")
    assert not every_call_answered(history).passed


def test_an_attempt_is_put_on_the_window_on_when_it_began() -> None:
    windows = _windows(("network", "toxic-reset_peer-downstream", 0, 2),
                       ("network", "toxic-limit_data-downstream", 3, 5))
    frame = attempts_frame([_attempt("mcp-0", 3.5, "transport_error"),  # in the second
                            _attempt("mcp-0", 2.5, "transport_error"),  # grace of the first
                            _attempt("mcp-0", 1.0, "timeout", ended=4.0),  # straddles both
                            _attempt("mcp-0", 2.8, "timeout", ended=4.0),  # ran into 2nd
                            _attempt("mcp-0", 9.0, "transport_error")], windows, grace_s=0.5)
    assert list(frame["fault"]) == ["cut_responses", "resets", "resets", "cut_responses", ""]
    check = errors_only_under_faults(frame)
    assert not check.passed and "1 of 5" in check.observed


def test_a_client_that_never_answers_again_did_not_recover() -> None:
    windows = _windows(("offline", "offline", 0, 2))
    frame = attempts_frame([_attempt("mcp-0", 2.5, "ok"), _attempt("mcp-1", 1.0, "ok")],
                           windows, grace_s=1)
    check, table = recovery(frame, windows, ["mcp-0", "mcp-1"], recover_s=5)
    assert not check.passed
    seconds = table.set_index("client")["recovered_after_s"]
    assert seconds["mcp-0"] == pytest.approx(0.51) and pd.isna(seconds["mcp-1"])


def test_the_schedule_plays_each_kind_once_per_round_from_the_seed() -> None:
    params = McpParams(fault_windows=5, seed=9)
    kinds = [(fault.label, fault.target) for fault in mcp_schedule(params)]
    assert len(set(kinds)) == 5 and ("server restarting", "server") in kinds
    assert kinds == [(fault.label, fault.target) for fault in mcp_schedule(params)]
    other_seed = [(fault.label, fault.target) for fault in mcp_schedule(params.replace(seed=10))]
    assert sorted(other_seed) == sorted(kinds)


@pytest.mark.parametrize(("values", "name"), [
    ({"faults": ["floods"]}, "faults"), ({"clients": 0}, "clients"),
    ({"call_deadline_s": 3.0}, "call_deadline_s"), ({"fault_s": 0.1}, "fault_s"),
    ({"grace_s": 2.5, "gap_s": 2.5}, "grace_s")])
def test_bad_parameters_name_themselves(values: dict, name: str) -> None:
    with pytest.raises(StudyParamError) as caught:
        McpParams(**values)
    assert caught.value.name == name
