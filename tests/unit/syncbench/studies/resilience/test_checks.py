"""The study's own checks: pass, fail with a counterexample, unknown when not reached."""

from __future__ import annotations

import pandas as pd
import pytest

from syncbench.history import History
from syncbench.studies.resilience.checks import (
    breaker_detected_within,
    breaker_moved_by_the_rules,
    breaker_recovered_within,
    duplicates_from_retried_creates,
    retry_after_honoured,
    success_restored_after_recovery,
    time_to_close,
    time_to_open,
)
from syncbench.studies.resilience.timeline import AFTER, BEFORE, DURING, RECOVERED
from syncbench.studies.resilience.workload import task_key

# -- success back to 100% after recovery ------------------------------------------------------


def ops(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"op_id": i + 1, "phase": p, "period": period, "outcome": outcome}
                         for i, (p, period, outcome) in enumerate(rows)])


def test_recovery_check_passes_when_every_recovered_operation_succeeded() -> None:
    result = success_restored_after_recovery(ops([
        ("outage", DURING, "info"), ("outage", AFTER, "fail"), ("outage", RECOVERED, "ok"),
        ("wan", DURING, "ok"), ("wan", RECOVERED, "ok")]))
    assert result.verdict == "pass", result.message
    assert result.counterexample == []


def test_recovery_check_fails_naming_the_operation_that_failed_after_recovery() -> None:
    result = success_restored_after_recovery(ops([
        ("outage", DURING, "ok"), ("outage", RECOVERED, "ok"), ("outage", RECOVERED, "info"),
        ("wan", DURING, "ok"), ("wan", RECOVERED, "ok")]))
    assert result.verdict == "fail"
    assert [(e["scope"], e["op_id"]) for e in result.counterexample] == [("outage", 3)]
    assert "outage: 50.0% of 2" in result.observed


def test_recovery_is_unknown_when_a_fault_left_no_operation_to_show_it() -> None:
    result = success_restored_after_recovery(ops([
        ("outage", DURING, "ok"), ("wan", DURING, "ok"), ("wan", RECOVERED, "ok")]))
    assert result.verdict == "unknown" and not result.passed
    assert "after outage cleared" in result.message


def test_recovery_is_unknown_when_no_request_was_made_during_a_fault() -> None:
    result = success_restored_after_recovery(ops([
        ("outage", BEFORE, "ok"), ("outage", RECOVERED, "ok")]))
    assert result.verdict == "unknown"
    assert "in flight while outage was on" in result.message


def test_a_request_still_retrying_through_a_fault_counts_as_meeting_it() -> None:
    # the storage fault case: every client invoked before the window and retried through it
    rows = ops([("storage-faults", BEFORE, "ok"), ("storage-faults", RECOVERED, "ok")])
    assert success_restored_after_recovery(rows).verdict == "unknown"
    met = success_restored_after_recovery(rows, met_a_request={"storage-faults"})
    assert met.verdict == "pass", met.message


def test_a_failure_in_one_fault_beats_an_unknown_in_another() -> None:
    result = success_restored_after_recovery(ops([
        ("outage", BEFORE, "ok"), ("wan", DURING, "ok"), ("wan", RECOVERED, "fail")]))
    assert result.verdict == "fail"


# -- breaker detection and recovery times ------------------------------------------------------


TRANSITIONS = [
    {"from": "closed", "to": "open", "at_unix": 100.4, "reason": "3 of 10 failed"},
    {"from": "open", "to": "half_open", "at_unix": 101.4, "reason": "open for 1s"},
    {"from": "half_open", "to": "open", "at_unix": 101.5, "reason": "trial failed"},
    {"from": "open", "to": "half_open", "at_unix": 102.5, "reason": "open for 1s"},
    {"from": "half_open", "to": "closed", "at_unix": 102.6, "reason": "2 trials succeeded"},
]


def test_time_to_open_and_close_are_measured_from_the_log() -> None:
    assert time_to_open(TRANSITIONS, 100.0) == pytest.approx(0.4)
    assert time_to_close(TRANSITIONS, 102.0) == pytest.approx(0.6)
    assert time_to_open([], 100.0) is None
    assert time_to_close([], 100.0) == 0.0
    assert time_to_close(TRANSITIONS[:3], 102.0) is None


def test_detection_within_the_limit_passes_and_reports_the_delay() -> None:
    result = breaker_detected_within(TRANSITIONS, fault_start=100.0, max_seconds=1.0)
    assert result.passed
    assert result.observed == "0.400 s"


def test_detection_too_late_or_never_despite_requests_fails() -> None:
    late = breaker_detected_within(TRANSITIONS, fault_start=100.0, max_seconds=0.2)
    assert late.verdict == "fail" and late.counterexample[0]["to"] == "open"
    never = breaker_detected_within([], fault_start=100.0, max_seconds=1.0, answered=12,
                                    threshold=3)
    assert never.verdict == "fail" and never.observed == "never opened"


def test_detection_is_unknown_when_too_few_requests_reached_the_failing_storage() -> None:
    result = breaker_detected_within([], fault_start=100.0, max_seconds=1.0, answered=2,
                                     threshold=3)
    assert result.verdict == "unknown"
    assert "2 request(s)" in result.message


def test_recovery_within_the_limit_passes_and_reports_the_delay() -> None:
    result = breaker_recovered_within(TRANSITIONS, fault_cleared=102.0, max_seconds=1.0,
                                      fault_start=100.0)
    assert result.passed
    assert result.observed == "0.600 s"


def test_recovery_too_late_or_never_fails() -> None:
    late = breaker_recovered_within(TRANSITIONS, fault_cleared=102.0, max_seconds=0.5)
    assert late.verdict == "fail" and late.counterexample[0]["to"] == "closed"
    never = breaker_recovered_within(TRANSITIONS[:3], fault_cleared=102.0, max_seconds=5.0)
    assert never.verdict == "fail" and never.observed == "never closed"


def test_recovery_is_unknown_when_the_breaker_never_opened_during_the_fault() -> None:
    result = breaker_recovered_within([], fault_cleared=102.0, max_seconds=1.0,
                                      fault_start=100.0)
    assert result.verdict == "unknown"
    assert "never opened" in result.message


def test_the_state_machine_check_is_unknown_when_the_breaker_never_moved() -> None:
    assert breaker_moved_by_the_rules([]).verdict == "unknown"
    assert breaker_moved_by_the_rules(TRANSITIONS).verdict == "pass"
    assert breaker_moved_by_the_rules(TRANSITIONS[1:]).verdict == "fail"


# -- duplicates, only once a create was retried --------------------------------------------


def history_with_create(attempts: int) -> History:
    history = History()
    op = history.invoke("client-1", "create", key="client-1-1", content="client-1-1")
    op.ok(task_id="t1", version=1, attempts=attempts)
    return history


def test_duplicates_are_unknown_when_no_create_was_retried() -> None:
    tasks = {"t1": {"id": "t1", "content": "client-1-1"}}
    assert duplicates_from_retried_creates(history_with_create(1), tasks,
                                           task_key).verdict == "unknown"
    assert duplicates_from_retried_creates(history_with_create(3), tasks,
                                           task_key).verdict == "pass"


def test_duplicates_fail_naming_the_retried_create_that_made_two_tasks() -> None:
    tasks = {"t1": {"id": "t1", "content": "client-1-1"},
             "t2": {"id": "t2", "content": "client-1-1|xxxx"}}
    result = duplicates_from_retried_creates(history_with_create(2), tasks, task_key)
    assert result.verdict == "fail"
    assert result.counterexample[0]["key"] == "client-1-1"
    assert sorted(result.counterexample[0]["task_ids"]) == ["t1", "t2"]


# -- Retry-After honoured -----------------------------------------------------------------------


def attempts(gaps: list[float | None], retry_after: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame([{"call_id": "c", "attempt": i + 1, "status_code": 429,
                          "retry_after": retry_after,
                          "gap_s": float("nan") if gap is None else gap}
                         for i, gap in enumerate(gaps)])


def test_retry_after_check_passes_when_every_retry_waited_long_enough() -> None:
    result = retry_after_honoured(attempts([1.0, 1.2, None]))
    assert result.passed, result.message


def test_retry_after_check_fails_naming_the_early_retry() -> None:
    result = retry_after_honoured(attempts([1.0, 0.3, None]))
    assert result.verdict == "fail"
    assert [entry["attempt"] for entry in result.counterexample] == [2]
    assert "0.300 s of 1 s" in result.counterexample[0]["violation"]


def test_retry_after_check_is_unknown_when_no_429_was_retried() -> None:
    result = retry_after_honoured(attempts([None]))
    assert result.verdict == "unknown" and "no 429 was retried" in result.message
