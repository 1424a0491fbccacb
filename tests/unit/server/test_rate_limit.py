"""Token buckets per client, with a fake clock."""

from __future__ import annotations

import pytest

from tasksync.server.middleware.rate_limit import RateLimitConfig, RateLimiter


class FakeClock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_then_refill() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimitConfig(rate=10, burst=3), clock=clock)
    assert [limiter.wait_time("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.wait_time("a") == pytest.approx(0.1)
    clock.now += 0.1
    assert limiter.wait_time("a") == 0


def test_clients_have_separate_buckets() -> None:
    limiter = RateLimiter(RateLimitConfig(rate=1, burst=1), clock=FakeClock())
    assert limiter.wait_time("a") == 0
    assert limiter.wait_time("a") > 0
    assert limiter.wait_time("b") == 0


def test_bucket_count_is_bounded_by_evicting_the_least_recent() -> None:
    limiter = RateLimiter(RateLimitConfig(rate=1, burst=1, max_clients=2), clock=FakeClock())
    limiter.wait_time("a")
    limiter.wait_time("b")
    limiter.wait_time("a")  # a is now the most recent
    limiter.wait_time("c")  # evicts b
    assert limiter.wait_time("a") > 0, "a kept its empty bucket"
    assert limiter.wait_time("b") == 0, "b was evicted, so it starts with a fresh bucket"


@pytest.mark.parametrize("rate, burst", [(0, 10), (-1, 10), (1, 0.5)])
def test_a_rate_limit_that_could_never_refill_is_refused_with_the_way_to_turn_it_off(
        rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="enabled=False"):
        RateLimitConfig(rate=rate, burst=burst)
