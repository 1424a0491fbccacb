"""RetryPolicy: the schedule, caps, Retry-After and stopping rules, without sleeping."""

from __future__ import annotations

import email.utils
import json
import random

import pytest

from tasksync.client import RetryPolicy, parse_retry_after


def test_jittered_delays_stay_within_zero_and_the_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=100.0)
    rng = random.Random(7)
    for retry in range(6):
        ceiling = 0.1 * 2**retry
        assert policy.ceiling(retry) == pytest.approx(ceiling)
        draws = [policy.next_delay(retry, rng) for _ in range(500)]
        assert all(0.0 <= d <= ceiling for d in draws)
        # full jitter: draws spread over the whole range, not just near the ceiling
        assert min(draws) < 0.1 * ceiling and max(draws) > 0.9 * ceiling


def test_ceiling_is_capped_at_max_delay() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=2.0)
    assert [policy.ceiling(r) for r in range(5)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert policy.ceiling(10_000) == 2.0
    rng = random.Random(1)
    assert all(policy.next_delay(50, rng) <= 2.0 for _ in range(200))


def test_schedule_is_reproducible_with_a_seed() -> None:
    policy = RetryPolicy(max_attempts=6, seed=42)
    assert policy.schedule() == policy.schedule()
    assert len(policy.schedule()) == 5
    assert RetryPolicy(max_attempts=6, seed=43).schedule() != policy.schedule()


def test_injected_rng_is_the_jitter_source() -> None:
    rng = random.Random(3)
    policy = RetryPolicy(rng=rng)
    assert policy.new_rng() is rng
    expected = RetryPolicy(seed=3).schedule(4)
    assert policy.schedule(4) == expected


def test_retry_after_raises_the_delay_up_to_max_retry_after() -> None:
    policy = RetryPolicy(base_delay=0.01, max_delay=0.01, max_retry_after=2.0)
    rng = random.Random(0)
    assert policy.next_delay(0, rng, retry_after=1.5) == 1.5
    assert policy.next_delay(0, rng, retry_after=60.0) == 2.0
    # a Retry-After below the jittered delay does not shorten it
    long_policy = RetryPolicy(base_delay=10.0, max_delay=10.0)
    assert long_policy.next_delay(0, random.Random(0), retry_after=0.0) > 0.0


def test_retry_after_is_ignored_when_not_respected() -> None:
    policy = RetryPolicy(base_delay=0.01, max_delay=0.01, respect_retry_after=False)
    assert policy.next_delay(0, random.Random(0), retry_after=5.0) <= 0.01


def test_may_retry_stops_at_max_attempts_and_at_the_deadline() -> None:
    policy = RetryPolicy(max_attempts=3, deadline=1.0)
    assert policy.may_retry(1, elapsed=0.0, delay=0.1)
    assert policy.may_retry(2, elapsed=0.0, delay=0.1)
    assert not policy.may_retry(3, elapsed=0.0, delay=0.1)
    assert not policy.may_retry(1, elapsed=0.95, delay=0.1)
    unlimited = RetryPolicy(max_attempts=None, deadline=None)
    assert unlimited.may_retry(10_000, elapsed=1e9, delay=1.0)


def test_retried_statuses_are_429_and_gateway_errors_by_default() -> None:
    policy = RetryPolicy()
    assert {s for s in range(400, 600) if policy.retries_status(s)} == {429, 502, 503, 504}


def test_policy_prints_compares_and_hashes_as_a_value() -> None:
    a = RetryPolicy(max_attempts=3, retry_statuses=[503, 429], seed=1)
    b = RetryPolicy(max_attempts=3, retry_statuses={429, 503}, seed=1, rng=random.Random(9))
    assert a == b and hash(a) == hash(b)  # the injected rng is not part of the value
    assert a != RetryPolicy(max_attempts=4, retry_statuses=[503, 429], seed=1)
    assert "max_attempts=3" in repr(a) and "rng" not in repr(a)
    assert json.loads(json.dumps(a.as_dict()))["retry_statuses"] == [429, 503]
    with pytest.raises(AttributeError):
        a.max_attempts = 9  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"base_delay": -1}, {"deadline": 0}, {"max_retry_after": -1}]
)
def test_invalid_policies_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("1.5", 1.5),
        (" 0 ", 0.0),
        ("-1", None),
        ("soon", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_seconds_are_parsed(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_retry_after_http_date_is_measured_from_now() -> None:
    now = 1_800_000_000.0
    in_five = email.utils.formatdate(now + 5, usegmt=True)
    assert parse_retry_after(in_five, now=now) == pytest.approx(5.0)
    past = email.utils.formatdate(now - 60, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
