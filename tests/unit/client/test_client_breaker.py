"""The client-side circuit breaker: its transitions, and that open means no network."""

from __future__ import annotations

import pytest

from tasksync.client import CircuitOpenError, ClientBreakerConfig, HTTPClient, RetryPolicy
from tasksync.client.breaker import ClientBreaker

from .servers import Reply, ScriptedHTTPServer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_breaker(**kwargs: float) -> tuple[ClientBreaker, FakeClock]:
    clock = FakeClock()
    config = ClientBreakerConfig(**{"failure_threshold": 3, "reset_timeout": 5.0, **kwargs})  # type: ignore[arg-type]
    return ClientBreaker(config, clock=clock), clock


def fail(breaker: ClientBreaker, times: int) -> None:
    for _ in range(times):
        breaker.record_failure(breaker.acquire(), "503")


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    breaker, _ = make_breaker()
    fail(breaker, 2)
    assert breaker.state == "closed"
    fail(breaker, 1)
    assert breaker.state == "open"


def test_a_success_resets_the_failure_count() -> None:
    breaker, _ = make_breaker()
    fail(breaker, 2)
    breaker.record_success(breaker.acquire())
    fail(breaker, 2)
    assert breaker.state == "closed"


def test_open_breaker_fails_fast_saying_when_to_retry() -> None:
    breaker, clock = make_breaker()
    fail(breaker, 3)
    clock.now += 2.0
    with pytest.raises(CircuitOpenError) as caught:
        breaker.acquire()
    assert caught.value.retry_in == pytest.approx(3.0)
    assert "try again" in str(caught.value)


def test_after_reset_timeout_one_probe_goes_through_and_others_wait() -> None:
    breaker, clock = make_breaker()
    fail(breaker, 3)
    clock.now += 5.0
    assert breaker.state == "half_open"
    assert breaker.acquire() is True
    with pytest.raises(CircuitOpenError):
        breaker.acquire()


def test_successful_probe_closes_and_failed_probe_reopens() -> None:
    breaker, clock = make_breaker()
    fail(breaker, 3)
    clock.now += 5.0
    breaker.record_failure(breaker.acquire(), "ReadTimeout")
    assert breaker.state == "open"
    clock.now += 5.0
    breaker.record_success(breaker.acquire())
    assert breaker.state == "closed"
    assert [(t.from_state, t.to_state) for t in breaker.transitions] == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]
    assert "ReadTimeout" in breaker.transitions[2].reason


def test_a_released_probe_lets_another_probe_through() -> None:
    breaker, clock = make_breaker()
    fail(breaker, 3)
    clock.now += 5.0
    breaker.release(breaker.acquire())
    assert breaker.acquire() is True


async def test_open_client_breaker_sends_nothing(http_server: ScriptedHTTPServer) -> None:
    http_server.default = Reply(503, {"error": "storage_unavailable", "message": "later"})
    client = HTTPClient(
        http_server.url,
        retry=RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.001),
        breaker=ClientBreakerConfig(failure_threshold=2, reset_timeout=60.0),
    )
    async with client:
        with pytest.raises(CircuitOpenError):
            await client.noop()
        assert len(http_server.requests) == 2
        with pytest.raises(CircuitOpenError):
            await client.noop()
    assert len(http_server.requests) == 2
    assert client.breaker is not None and client.breaker.state == "open"


async def test_client_errors_do_not_open_the_breaker(http_server: ScriptedHTTPServer) -> None:
    http_server.default = Reply(404, {"error": "not_found", "message": "no such task"})
    client = HTTPClient(http_server.url, breaker=ClientBreakerConfig(failure_threshold=1))
    async with client:
        for _ in range(3):
            with pytest.raises(Exception, match="404"):
                await client.get_task("missing")
    assert client.breaker is not None and client.breaker.state == "closed"
