"""The breaker's state machine, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import pytest

from tasksync.server.middleware.circuit_breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerConfig,
    CircuitBreaker,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(**overrides: object) -> tuple[CircuitBreaker, FakeClock]:
    clock = FakeClock()
    config = BreakerConfig(**{"window_size": 10, "failure_threshold": 3, "open_seconds": 5.0,
                              "half_open_max_calls": 2, **overrides})
    return CircuitBreaker(config, clock=clock), clock


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record(failed=True)


def test_opens_when_failures_in_window_reach_threshold() -> None:
    breaker, _ = make()
    fail(breaker, 2)
    assert breaker.state == CLOSED
    fail(breaker, 1)
    assert breaker.state == OPEN
    assert [(t.from_state, t.to_state) for t in breaker.transitions] == [(CLOSED, OPEN)]


def test_old_failures_slide_out_of_the_window() -> None:
    breaker, _ = make()
    fail(breaker, 2)
    for _ in range(10):  # ten successes push both failures out of a window of ten
        assert breaker.allow()
        breaker.record(failed=False)
    fail(breaker, 2)
    assert breaker.state == CLOSED


def test_open_refuses_calls_until_open_seconds_pass() -> None:
    breaker, clock = make()
    fail(breaker, 3)
    assert not breaker.allow()
    assert breaker.retry_after() == pytest.approx(5.0)
    clock.now += 4.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.allow()
    assert breaker.state == HALF_OPEN


def test_half_open_closes_after_enough_successful_trials() -> None:
    breaker, clock = make()
    fail(breaker, 3)
    clock.now += 5
    assert breaker.allow() and breaker.allow()
    assert not breaker.allow(), "only half_open_max_calls trials may be in flight"
    breaker.record(failed=False)
    assert breaker.state == HALF_OPEN
    breaker.record(failed=False)
    assert breaker.state == CLOSED
    states = [(t.from_state, t.to_state) for t in breaker.transitions]
    assert states == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    assert breaker.allow(), "a closed breaker admits calls again"


def test_a_failed_trial_reopens_the_breaker() -> None:
    breaker, clock = make()
    fail(breaker, 3)
    clock.now += 5
    assert breaker.allow()
    breaker.record(failed=True)
    assert breaker.state == OPEN
    assert not breaker.allow()
    assert breaker.transitions[-1].reason == "a half-open trial call failed"


def test_late_results_while_open_are_ignored() -> None:
    breaker, _ = make()
    fail(breaker, 3)
    breaker.record(failed=False)
    assert breaker.state == OPEN


def test_snapshot_lists_transitions_with_timestamps() -> None:
    breaker, _ = make()
    fail(breaker, 3)
    snapshot = breaker.snapshot()
    assert snapshot["state"] == OPEN
    assert snapshot["transitions"][0]["from"] == CLOSED
    assert snapshot["transitions"][0]["at"].endswith("Z")


@pytest.mark.parametrize("overrides", [
    {"window_size": 5, "failure_threshold": 6},
    {"failure_threshold": 0},
    {"half_open_max_calls": 0},
    {"open_seconds": 0},
])
def test_inconsistent_config_is_refused(overrides: dict) -> None:
    with pytest.raises(ValueError):
        BreakerConfig(**{"window_size": 10, "failure_threshold": 3, **overrides})
