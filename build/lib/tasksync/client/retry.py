"""RetryPolicy: when to retry, how long to wait, when to stop, as a value you can print.

The policy is data, like urllib3's Retry: it decides, it never sleeps or sends. The retrying
itself lives in `sender.py`; the WebSocket client reuses the same policy for reconnects.
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

# Transport failures worth another attempt: the request may not have reached the server, or
# the answer was lost on the way back. Writes are safe to resend thanks to Idempotency-Key.
# Not here: UnsupportedProtocol, LocalProtocolError, ProxyError, which recur on every attempt.
RETRYABLE_TRANSPORT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How a call is retried: exponential backoff with full jitter, capped, with a deadline.

    The delay before retry number `retry` (0 for the first retry) is
    `uniform(0, min(max_delay, base_delay * 2**retry))`, raised to the server's Retry-After
    (itself capped at `max_retry_after`) when `respect_retry_after`. Retrying stops after
    `max_attempts` attempts in all, or when the next attempt could not start before
    `deadline` seconds from the first one; None disables that limit.

    `seed` makes the jitter reproducible; `rng` injects a generator outright (it is left out
    of comparison and repr so that two policies with equal settings compare equal).
    """

    max_attempts: int | None = 5
    base_delay: float = 0.1
    max_delay: float = 5.0
    deadline: float | None = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    respect_retry_after: bool = True
    max_retry_after: float = 30.0
    seed: int | None = None
    rng: random.Random | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Accept any iterable of statuses, but store a frozenset so the policy stays hashable.
        object.__setattr__(self, "retry_statuses", frozenset(self.retry_statuses))
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1 (or None for no limit)")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("base_delay, max_delay and max_retry_after must be >= 0")
        if self.deadline is not None and self.deadline <= 0:
            raise ValueError("deadline must be > 0 (or None for no limit)")

    def new_rng(self) -> random.Random:
        """The jitter source a client should own: the injected one, else seeded by `seed`."""
        return self.rng if self.rng is not None else random.Random(self.seed)

    def ceiling(self, retry: int) -> float:
        """The upper bound of the jittered delay before retry number `retry` (0-based)."""
        if retry >= 64:  # 2**64 * base overflows nothing in Python, but is past any cap
            return self.max_delay
        return min(self.max_delay, self.base_delay * 2**retry)

    def next_delay(self, retry: int, rng: random.Random, retry_after: float | None = None) -> float:
        """The seconds to wait before retry number `retry`, given the server's Retry-After."""
        delay = rng.uniform(0.0, self.ceiling(retry))
        if self.respect_retry_after and retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay

    def schedule(self, retries: int | None = None, rng: random.Random | None = None) -> list[float]:
        """The delays before each retry, without Retry-After: reproducible when `seed` is set."""
        if retries is None:
            if self.max_attempts is None:
                raise ValueError("max_attempts is None: say how many retries to schedule")
            retries = self.max_attempts - 1
        source = rng if rng is not None else self.new_rng()
        return [self.next_delay(retry, source) for retry in range(retries)]

    def may_retry(self, attempts_made: int, elapsed: float, delay: float) -> bool:
        """Whether another attempt may start `delay` seconds from now, `elapsed` into the call."""
        if self.max_attempts is not None and attempts_made >= self.max_attempts:
            return False
        return self.deadline is None or elapsed + delay < self.deadline

    def retries_status(self, status_code: int) -> bool:
        """Whether a reply with this status is worth another attempt."""
        return status_code in self.retry_statuses

    def retries_error(self, exc: BaseException) -> bool:
        """Whether this httpx transport error is worth another attempt."""
        return isinstance(exc, RETRYABLE_TRANSPORT_ERRORS)

    def as_dict(self) -> dict[str, Any]:
        """The policy as plain JSON-able data, for a run's summary."""
        return {
            "max_attempts": self.max_attempts,
            "base_delay": self.base_delay,
            "max_delay": self.max_delay,
            "deadline": self.deadline,
            "retry_statuses": sorted(self.retry_statuses),
            "respect_retry_after": self.respect_retry_after,
            "max_retry_after": self.max_retry_after,
            "seed": self.seed,
        }


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds, decimal or HTTP-date), or None.

    `now` is the wall clock (time.time()) that an HTTP-date is measured against.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP dates are always UTC
        when = when.replace(tzinfo=datetime.UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


# What HTTPClient and BatchClient use unless told otherwise.
DEFAULT_RETRY = RetryPolicy()
