"""Per-client token-bucket rate limiting: 429 with Retry-After when a client's bucket is empty."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import Scope

from tasksync.server.middleware.responses import Refusal, header


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Each client may make `rate` requests per second on average, `burst` at once."""

    rate: float = 1000.0
    burst: float = 2000.0
    enabled: bool = True
    max_clients: int = 100_000  # buckets kept; the least recently used go first

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"rate limit needs rate > 0 and burst >= 1 (got rate={self.rate},"
                             f" burst={self.burst}); to turn it off use enabled=False")


class TokenBucket:
    """Tokens refill at `rate` per second up to `burst`; each request takes one."""

    __slots__ = ("rate", "burst", "tokens", "updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.updated = rate, burst, burst, now

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    """One bucket per client id."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def wait_time(self, client_id: str) -> float:
        """0 when `client_id` may proceed now, else seconds until it may."""
        now = self._clock()
        bucket = self._buckets.pop(client_id, None)
        if bucket is None:
            bucket = TokenBucket(self.config.rate, self.config.burst, now)
            if len(self._buckets) >= self.config.max_clients:
                self._buckets.pop(next(iter(self._buckets)))
        self._buckets[client_id] = bucket  # re-inserted: dict order is recency order
        return bucket.take(now)


def rate_refusal(limiter: RateLimiter, scope: Scope) -> Refusal | None:
    """429 with Retry-After when the caller's bucket (by X-Client-ID, else the peer) is
    empty, else None (and a token taken)."""
    if not limiter.config.enabled:
        return None
    client_id = header(scope, b"x-client-id") or _peer(scope)
    wait = limiter.wait_time(client_id)
    if wait <= 0:
        return None
    return Refusal(
        429, "rate_limited",
        f"client {client_id} is over its rate limit of {limiter.config.rate:g} requests/s;"
        " retry after the Retry-After delay",
        {"Retry-After": str(max(1, math.ceil(wait)))},
    )


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return f"peer:{client[0]}" if client else "anonymous"
