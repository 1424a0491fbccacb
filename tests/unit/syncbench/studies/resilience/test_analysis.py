"""From what the phases saw to frames, metrics with units and checks (no server needed)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from syncbench.history import History, Operation
from syncbench.metric import MS, S
from syncbench.nemesis import PROCESS
from syncbench.studies.resilience import ResilienceParams, ResilienceResult
from syncbench.studies.resilience.analysis import analyse, attempts_frame, breaker_state_at
from syncbench.studies.resilience.phases import Observed
from syncbench.studies.resilience.timeline import PROTECTION_PHASE, RATE_PHASE, Segment
from syncbench.studies.resilience.workload import Recorder


def op(op_id: int, client: str, operation: str, start: float, end: float, *,
       outcome: str = "ok", attempts: int | None = 1, **args: Any) -> Operation:
    return Operation(op_id, client, operation, dict(args), start, start, end, end, outcome,
                     attempts, task_id=args.get("task_id"), version=1 if outcome == "ok" else None)


def nemesis_ops(first_id: int, kind: str, label: str, on: float, off: float) -> list[Operation]:
    args = {"fault_id": first_id, "fault": kind, "target": "x", "label": label, "phase": None}
    return [op(first_id, PROCESS, "start", on - 0.05, on, attempts=None, **args),
            op(first_id + 1, PROCESS, "stop", off - 0.05, off, attempts=None, **args)]


def attempt(call: str, number: int, start: float, end: float, status: int | None,
            op_id: int | None = None, retry_after: float | None = None) -> dict[str, Any]:
    return {"call_id": call, "operation": "create", "attempt": number, "started_at": start,
            "ended_at": end, "started_monotonic": start, "ended_monotonic": end,
            "outcome": str(status), "status_code": status, "delay_before_next": None,
            "idempotency_key": None, "client_id": "c", "retry_after": retry_after,
            "op_id": op_id}


TRANSITIONS = [
    {"from": "closed", "to": "open", "at_unix": 104.8, "reason": "3 of 10 failed"},
    {"from": "open", "to": "half_open", "at_unix": 105.8, "reason": "open for 1s"},
    {"from": "half_open", "to": "closed", "at_unix": 107.2, "reason": "2 trials succeeded"},
]


@pytest.fixture
def observed() -> Observed:
    history = History(operations=[
        *nemesis_ops(1, "network", "wan", 100.0, 102.0),
        op(3, "c1", "create", 99.8, 99.9, key="c1-1", content="c1-1", task_id="t1"),
        op(4, "c1", "create", 100.5, 101.5, attempts=3, key="c1-2", content="c1-2",
           task_id="t2"),
        op(5, "bulk", "create", 100.1, 100.9, key="bulk-1", size=100, task_id="t3"),
        op(6, "c1", "update", 103.0, 103.1, task_id="t1"),
        *nemesis_ops(7, "storage", "storage 100% errors", 104.5, 107.0),
        op(9, "c1", "update", 105.0, 106.0, attempts=2, task_id="t2"),
        op(10, "c1", "create", 108.0, 108.1, key="c1-3", content="c1-3", task_id="t4"),
        op(11, "greedy", "create", 110.5, 112.0, attempts=2, key="g-1", content="g-1",
           task_id="t5"),
    ])
    recorder = Recorder(history)
    recorder.attempts = [
        attempt("a", 1, 100.5, 100.6, None, 4), attempt("a", 2, 100.7, 100.8, None, 4),
        attempt("a", 3, 101.0, 101.5, 201, 4),
        attempt("b", 1, 104.6, 104.9, 503, 9), attempt("b", 2, 105.0, 105.001, 503, 9),
        attempt("p", 1, 105.2, 105.202, 503), attempt("p2", 1, 104.7, 104.95, 503),
        attempt("g", 1, 110.5, 110.51, 429, 11, retry_after=1.0),
        attempt("g", 2, 111.6, 111.61, 201, 11),
    ]
    tasks = {tid: {"id": tid, "content": key} for tid, key in
             [("t1", "c1-1"), ("t2", "c1-2"), ("t3", "bulk-1|xx"), ("t4", "c1-3"),
              ("t5", "g-1")]}
    return Observed(recorder=recorder, final_tasks=tasks, transitions=TRANSITIONS,
                    played=[{"at": 0.5, "for": 2.0, "fault": "network", "target": "clients",
                             "profile": "wan"}],
                    rate_started=110.0, started=99.0, ended=113.0)


def analysed(observed: Observed) -> ResilienceResult:
    params = ResilienceParams(faults=("wan",), ws_clients=0, lead_seconds=0.5,
                              recovery_grace_seconds=0.5)
    return analyse(params, observed)


def test_windows_come_from_the_history_in_utc_and_operations_leave_the_nemesis_out(
        observed: Observed) -> None:
    result = analysed(observed)
    windows = result.frame("windows")
    assert windows["fault"].tolist() == ["network", "storage"]
    assert windows["start"].iloc[0] == pd.Timestamp(100.0, unit="s", tz="UTC")
    ops = result.frame("operations")
    assert PROCESS not in set(ops["client"])
    by_id = ops.set_index("op_id")
    assert by_id.loc[3, ["phase", "period"]].tolist() == ["wan", "before"]
    assert by_id.loc[4, ["phase", "period"]].tolist() == ["wan", "during"]
    assert by_id.loc[6, ["phase", "period"]].tolist() == ["wan", "recovered"]
    assert by_id.loc[9, ["phase", "period"]].tolist() == [PROTECTION_PHASE, "during"]
    assert by_id.loc[11, "phase"] == RATE_PHASE
    assert result.schedule == observed.played


def test_metrics_carry_their_units_and_are_measured_not_parsed(observed: Observed) -> None:
    result = analysed(observed)
    assert result.metrics["wan.p50_latency_ms"].unit == MS
    assert result.metric("wan.large_task_latency_ms") == pytest.approx(800.0)
    assert result.metric("wan.attempts_per_request") == pytest.approx(2.0)
    assert result.metrics["breaker.time_to_detect_s"].unit == S
    assert result.metric("breaker.time_to_detect_s") == pytest.approx(0.3)
    assert result.metric("breaker.time_to_recover_s") == pytest.approx(0.2)
    # the 503s answered while the breaker was open are the fast ones
    assert result.metric("breaker.open_503s") == 2
    assert result.metric("breaker.storage_503s") == 2
    assert result.metric("rate_limit.429s") == 1
    assert result.metric("rate_limit.min_wait_over_retry_after_s") == pytest.approx(0.09)


def test_every_check_is_there_and_passes_on_a_good_run(observed: Observed) -> None:
    result = analysed(observed)
    assert {c.name: c.verdict for c in result.checks} == {
        "no_lost_acknowledged_writes": "pass", "no_duplicates_from_retries": "pass",
        "success_rate_back_to_100_after_recovery": "pass",
        "breaker_followed_state_machine": "pass", "breaker_time_to_detect": "pass",
        "breaker_time_to_recover": "pass", "client_honoured_retry_after": "pass",
        "faults_bite": "pass"}
    assert result.paths["breaker_opened"]["count"] == 1


def test_a_storage_fault_that_never_opened_the_breaker_makes_its_checks_unknown(
        observed: Observed) -> None:
    observed.transitions = []
    observed.recorder.attempts = [a for a in observed.recorder.attempts
                                  if not 104.5 <= a["started_at"] < 107.0]
    result = analysed(observed)
    for name in ("breaker_followed_state_machine", "breaker_time_to_detect",
                 "breaker_time_to_recover"):
        assert result.check(name).verdict == "unknown", name
    assert not result.passed


def test_a_duplicated_retried_create_fails_the_run(observed: Observed) -> None:
    observed.final_tasks["t9"] = {"id": "t9", "content": "c1-2"}
    assert analysed(observed).check("no_duplicates_from_retries").verdict == "fail"


def test_attempts_get_the_gap_to_the_next_attempt_of_their_call() -> None:
    frame = attempts_frame([attempt("a", 2, 3.0, 3.5, 201), attempt("a", 1, 1.0, 1.5, 503),
                            attempt("b", 1, 2.0, 2.1, 201)], [Segment("x", 0.0)], 0.5)
    assert frame["call_id"].tolist() == ["a", "b", "a"]
    assert frame["gap_s"].tolist()[0] == pytest.approx(1.5)
    assert frame["gap_s"].isna().tolist() == [False, True, True]


def test_breaker_state_at_follows_the_transition_log() -> None:
    transitions = pd.DataFrame({"at_unix": [10.0, 11.0, 12.0],
                                "state": ["open", "half_open", "closed"]})
    states = breaker_state_at(transitions, pd.Series([5.0, 10.5, 11.5, 13.0]))
    assert states.tolist() == ["closed", "open", "half_open", "closed"]
