"""The pure parts of the resilience study: parameters, workload, labelling and its own checks."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from syncbench.studies.resilience import (
    AFTER,
    BEFORE,
    DURING,
    RECOVERED,
    ResilienceParams,
    Segment,
    breaker_detected_within,
    breaker_recovered_within,
    breaker_state_at,
    label,
    period_of,
    plan_requests,
    retry_after_honoured,
    success_restored_after_recovery,
    task_key,
)

# -- parameters -----------------------------------------------------------------------------


def test_default_parameters_are_valid_and_know_every_default_fault() -> None:
    params = ResilienceParams()
    assert set(params.faults) <= set(params.profiles())
    assert "cut-responses" in params.profiles()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("faults", ("no-such-profile",)),
        ("faults", ("wan", "wan")),
        ("clients", 0),
        ("clients", 1.5),
        ("fault_seconds", 0),
        ("recover_seconds", -1),
        ("request_timeout", float("nan")),
        ("storage_error_rate", 1.5),
        ("update_share", -0.1),
        ("breaker_threshold", 50),
        ("recovery_grace_seconds", 5.0),
        ("seeded_bug", "no_such_bug"),
        ("seed", "one"),
        ("rate_limit", 0),
        ("custom_profiles", {"bad": {"toxics": [{"type": "nonsense"}]}}),
    ],
)
def test_a_bad_parameter_raises_value_error_naming_it(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        ResilienceParams(**{field: value})


def test_custom_profiles_add_faults_usable_by_name() -> None:
    params = ResilienceParams(faults=("drop-all",), custom_profiles={
        "drop-all": {"toxics": [{"type": "timeout", "attributes": {"timeout": 0}}]}})
    assert params.profiles()["drop-all"].toxics[0].type == "timeout"


def test_server_options_carry_the_breaker_settings_and_the_seeded_bug() -> None:
    options = ResilienceParams(breaker_threshold=2, seeded_bug="ignore_idempotency").server_options()
    assert options[options.index("--breaker-threshold") + 1] == "2"
    assert options[-2:] == ("--seeded-bug", "ignore_idempotency")
    assert "--seeded-bug" not in ResilienceParams().server_options()


# -- workload -------------------------------------------------------------------------------


def test_workload_is_the_same_for_the_same_seed_and_client() -> None:
    first = plan_requests(7, "client-1", 50)
    assert first == plan_requests(7, "client-1", 50)
    assert first != plan_requests(8, "client-1", 50)
    assert first != plan_requests(7, "client-2", 50)


def test_workload_creates_first_and_gives_every_create_a_unique_key() -> None:
    steps = plan_requests(3, "c", 200, update_share=0.4, think_seconds=0.1)
    assert steps[0].kind == "create"
    keys = [step.key for step in steps if step.kind == "create"]
    assert len(keys) == len(set(keys))
    assert all(key.startswith("c-") for key in keys)
    assert 0.2 < sum(step.kind == "update" for step in steps) / len(steps) < 0.6
    assert all(0.05 <= step.pause <= 0.15 for step in steps)


def test_task_key_strips_the_padding_of_a_large_task() -> None:
    assert task_key({"content": "bulk-1|xxxx"}) == "bulk-1"
    assert task_key({"content": "client-1-3"}) == "client-1-3"
    assert task_key({}) is None


# -- labelling ------------------------------------------------------------------------------


def test_period_of_places_a_time_around_the_fault_window() -> None:
    segment = Segment("wan", 0.0, 10.0, fault_start=2.0, fault_end=5.0)
    assert [period_of(t, segment, grace=1.0) for t in (1.0, 2.0, 4.9, 5.5, 6.0)] == [
        BEFORE, DURING, DURING, AFTER, RECOVERED]
    assert period_of(1.0, Segment("rate", 0.0, math.inf), grace=1.0) == DURING


def test_label_assigns_each_row_to_the_segment_it_falls_in() -> None:
    segments = [Segment("a", 0.0, 10.0, 2.0, 5.0), Segment("b", 10.0, 20.0, 12.0, 15.0)]
    frame = label(pd.DataFrame({"t": [1.0, 3.0, 11.0, 19.0]}), "t", segments, grace=0.5)
    assert frame["phase"].tolist() == ["a", "a", "b", "b"]
    assert frame["period"].tolist() == [BEFORE, DURING, BEFORE, RECOVERED]


def test_breaker_state_at_follows_the_transition_log() -> None:
    transitions = pd.DataFrame({"at_unix": [10.0, 11.0, 12.0],
                                "state": ["open", "half_open", "closed"]})
    states = breaker_state_at(transitions, pd.Series([5.0, 10.5, 11.5, 13.0]))
    assert states.tolist() == ["closed", "open", "half_open", "closed"]


# -- success back to 100% after recovery ------------------------------------------------------


def ops(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"op_id": i + 1, "phase": p, "period": period, "outcome": outcome}
                         for i, (p, period, outcome) in enumerate(rows)])


def test_recovery_check_passes_when_every_recovered_operation_succeeded() -> None:
    result = success_restored_after_recovery(ops([
        ("outage", DURING, "info"), ("outage", AFTER, "fail"), ("outage", RECOVERED, "ok"),
        ("wan", RECOVERED, "ok")]))
    assert result.passed, result.message
    assert result.counterexample == []


def test_recovery_check_fails_naming_the_operation_that_failed_after_recovery() -> None:
    result = success_restored_after_recovery(ops([
        ("outage", RECOVERED, "ok"), ("outage", RECOVERED, "info"), ("wan", RECOVERED, "ok")]))
    assert not result.passed
    assert [entry["op_id"] for entry in result.counterexample] == [2]
    assert "50.0% (outage)" in result.observed


def test_recovery_check_fails_when_a_fault_left_no_operation_to_show_recovery() -> None:
    result = success_restored_after_recovery(ops([("outage", DURING, "ok"), ("wan", RECOVERED, "ok")]))
    assert not result.passed
    assert result.counterexample[0]["phase"] == "outage"


# -- breaker detection and recovery times ------------------------------------------------------


TRANSITIONS = [
    {"from": "closed", "to": "open", "at_unix": 100.4, "reason": "3 of 10 failed"},
    {"from": "open", "to": "half_open", "at_unix": 101.4, "reason": "open for 1s"},
    {"from": "half_open", "to": "open", "at_unix": 101.5, "reason": "trial failed"},
    {"from": "open", "to": "half_open", "at_unix": 102.5, "reason": "open for 1s"},
    {"from": "half_open", "to": "closed", "at_unix": 102.6, "reason": "2 trials succeeded"},
]


def test_detection_within_the_limit_passes_and_reports_the_delay() -> None:
    result = breaker_detected_within(TRANSITIONS, fault_start=100.0, max_seconds=1.0)
    assert result.passed
    assert result.observed == "0.400 s"


def test_detection_too_late_or_never_fails() -> None:
    late = breaker_detected_within(TRANSITIONS, fault_start=100.0, max_seconds=0.2)
    assert not late.passed and late.counterexample[0]["to"] == "open"
    never = breaker_detected_within([], fault_start=100.0, max_seconds=1.0)
    assert not never.passed and never.observed == "never opened"


def test_recovery_within_the_limit_passes_and_reports_the_delay() -> None:
    result = breaker_recovered_within(TRANSITIONS, fault_cleared=102.0, max_seconds=1.0)
    assert result.passed
    assert result.observed == "0.600 s"
    assert breaker_recovered_within([], fault_cleared=102.0, max_seconds=1.0).passed


def test_recovery_too_late_or_never_fails() -> None:
    assert not breaker_recovered_within(TRANSITIONS, fault_cleared=102.0, max_seconds=0.5).passed
    never = breaker_recovered_within(TRANSITIONS[:3], fault_cleared=102.0, max_seconds=5.0)
    assert not never.passed and never.observed == "never closed"


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
    assert not result.passed
    assert [entry["attempt"] for entry in result.counterexample] == [2]
    assert "0.300 s of 1 s" in result.counterexample[0]["violation"]


def test_retry_after_check_fails_when_no_429_was_retried() -> None:
    assert not retry_after_honoured(attempts([None])).passed
