"""Circuit breaker around storage-backed routes: closed -> open -> half-open -> closed.

Closed: calls pass; the breaker remembers the outcome of the last `window_size` calls and
opens when `failure_threshold` of them failed (a 5xx, which includes storage timeouts).
Open: calls are answered 503 with Retry-After at once, without touching storage, for
`open_seconds`. Half-open: up to `half_open_max_calls` trial calls pass; when that many have
succeeded the breaker closes, and any failing trial opens it again.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

from starlette.types import Scope

from tasksync.clock import now_rfc3339
from tasksync.server.middleware.responses import Refusal

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When the breaker opens and how it recovers."""

    window_size: int = 20
    failure_threshold: int = 10
    open_seconds: float = 5.0
    half_open_max_calls: int = 3
    route_prefixes: tuple[str, ...] = ("/api/v1/tasks", "/api/v1/repositories", "/api/v1/sync")

    def __post_init__(self) -> None:
        if not 1 <= self.failure_threshold <= self.window_size:
            raise ValueError("failure_threshold must be between 1 and window_size")
        if self.half_open_max_calls < 1 or self.open_seconds <= 0:
            raise ValueError("half_open_max_calls must be >= 1 and open_seconds > 0")


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change, as /api/v1/admin/breaker lists it."""

    from_state: str
    to_state: str
    at: str
    at_unix: float
    reason: str


class CircuitBreaker:
    """The breaker's state machine; `clock` is injectable so tests need no sleeping."""

    def __init__(
        self,
        config: BreakerConfig,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Callable[[str, str], None] = lambda old, new: None,
        max_transitions: int = 1000,
        skip_half_open: bool = False,
    ) -> None:
        self.config = config
        self._skip_half_open = skip_half_open  # the seeded bug "breaker_skips_half_open"
        self.state = CLOSED
        self.transitions: deque[Transition] = deque(maxlen=max_transitions)
        self._clock = clock
        self._on_transition = on_transition
        self._window: deque[bool] = deque(maxlen=config.window_size)  # True = failure
        self._opened_at = 0.0
        self._trials_in_flight = 0
        self._trial_successes = 0

    def allow(self) -> bool:
        """True when a call may proceed now (reserving a trial slot when half-open)."""
        if self.state == OPEN:
            if self._clock() - self._opened_at < self.config.open_seconds:
                return False
            if self._skip_half_open:
                self._move(CLOSED, f"open for {self.config.open_seconds}s")
                return True
            self._move(HALF_OPEN, f"open for {self.config.open_seconds}s")
        if self.state == HALF_OPEN:
            if self._trials_in_flight + self._trial_successes >= self.config.half_open_max_calls:
                return False
            self._trials_in_flight += 1
        return True

    def record(self, failed: bool) -> None:
        """Record the outcome of a call that `allow()` let through."""
        if self.state == HALF_OPEN:
            self._trials_in_flight = max(0, self._trials_in_flight - 1)
            if failed:
                self._open("a half-open trial call failed")
            else:
                self._trial_successes += 1
                if self._trial_successes >= self.config.half_open_max_calls:
                    self._move(CLOSED, f"{self._trial_successes} trial calls succeeded")
            return
        if self.state == OPEN:
            return  # a call admitted before the breaker opened; it no longer matters
        self._window.append(failed)
        failures = sum(self._window)
        if failures >= self.config.failure_threshold:
            self._open(f"{failures} of the last {len(self._window)} calls failed")

    def retry_after(self) -> float:
        """Seconds until the breaker will admit a trial call."""
        if self.state != OPEN:
            return 1.0
        return max(0.0, self.config.open_seconds - (self._clock() - self._opened_at))

    def snapshot(self) -> dict:
        """The breaker's state, configuration and transition log."""
        return {
            "state": self.state,
            "config": {k: v for k, v in asdict(self.config).items() if k != "route_prefixes"},
            "window_failures": sum(self._window),
            "window_calls": len(self._window),
            "transitions": [
                {"from": t.from_state, "to": t.to_state, "at": t.at, "at_unix": t.at_unix,
                 "reason": t.reason}
                for t in self.transitions
            ],
        }

    def _open(self, reason: str) -> None:
        self._opened_at = self._clock()
        self._move(OPEN, reason)

    def _move(self, new_state: str, reason: str) -> None:
        old_state, self.state = self.state, new_state
        self._window.clear()
        self._trials_in_flight = 0
        self._trial_successes = 0
        self.transitions.append(Transition(old_state, new_state, now_rfc3339(), time.time(), reason))
        self._on_transition(old_state, new_state)


def guarded(breaker: CircuitBreaker, scope: Scope) -> bool:
    """Whether the breaker watches this request (the storage-backed routes)."""
    return scope["path"].startswith(breaker.config.route_prefixes)


def open_refusal(breaker: CircuitBreaker) -> Refusal | None:
    """503 with Retry-After while the breaker is open (no trial left), else None."""
    if breaker.allow():
        return None
    return Refusal(
        503, "circuit_open",
        "the server is shedding load after repeated storage failures;"
        " retry after the Retry-After delay",
        {"Retry-After": str(max(1, math.ceil(breaker.retry_after())))},
    )
