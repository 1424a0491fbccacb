"""A client-side circuit breaker: stop sending to a server that keeps failing.

closed --(failure_threshold consecutive failures)--> open
open --(reset_timeout elapsed, next call)--> half_open (up to half_open_max_calls probes)
half_open --(a probe succeeds)--> closed;  half_open --(a probe fails)--> open

Only answers that say "the server is not serving" count as failures: transport errors and
the `failure_statuses`. Any other HTTP answer, even a 404 or 429, proves the server is alive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tasksync.client.errors import CircuitOpenError

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class ClientBreakerConfig:
    """When the client breaker opens, how long it stays open, how many probes it lets by."""

    failure_threshold: int = 5
    reset_timeout: float = 5.0
    half_open_max_calls: int = 1
    failure_statuses: frozenset[int] = frozenset({502, 503, 504})

    def __post_init__(self) -> None:
        object.__setattr__(self, "failure_statuses", frozenset(self.failure_statuses))
        if self.failure_threshold < 1 or self.half_open_max_calls < 1:
            raise ValueError("failure_threshold and half_open_max_calls must be >= 1")
        if self.reset_timeout < 0:
            raise ValueError("reset_timeout must be >= 0")


@dataclass(frozen=True)
class BreakerTransition:
    """One state change of the breaker, with the wall-clock time and the reason."""

    from_state: BreakerState
    to_state: BreakerState
    at: float
    reason: str


class ClientBreaker:
    """The breaker's state machine; `clock` is monotonic seconds (injectable for tests)."""

    def __init__(
        self, config: ClientBreakerConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.transitions: list[BreakerTransition] = []
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0

    @property
    def state(self) -> BreakerState:
        """The current state, moving open -> half_open once reset_timeout has passed."""
        if self._state == "open" and self._clock() - self._opened_at >= self.config.reset_timeout:
            self._move("half_open", "reset timeout elapsed")
        return self._state

    def acquire(self) -> bool:
        """Permission to send: True when this call is a half-open probe; raises when open."""
        state = self.state
        if state == "closed":
            return False
        if state == "half_open" and self._probes < self.config.half_open_max_calls:
            self._probes += 1
            return True
        retry_in = max(0.0, self._opened_at + self.config.reset_timeout - self._clock())
        raise CircuitOpenError(retry_in)

    def record_success(self, probe: bool) -> None:
        """Note that the server answered; a successful probe closes the breaker."""
        self._end_probe(probe)
        if self._state == "half_open" and probe:
            self._move("closed", "probe succeeded")
        if self._state == "closed":
            self._failures = 0

    def record_failure(self, probe: bool, reason: str) -> None:
        """Note a failure; opens the breaker at the threshold, or again after a failed probe."""
        self._end_probe(probe)
        if self._state == "half_open" and probe:
            self._open(f"probe failed: {reason}")
        elif self._state == "closed":
            self._failures += 1
            if self._failures >= self.config.failure_threshold:
                self._open(f"{self._failures} consecutive failures, last: {reason}")

    def release(self, probe: bool) -> None:
        """Give back a permit whose call ended without a verdict (e.g. it was cancelled)."""
        self._end_probe(probe)

    def _end_probe(self, probe: bool) -> None:
        if probe and self._probes > 0:
            self._probes -= 1

    def _open(self, reason: str) -> None:
        self._opened_at = self._clock()
        self._failures = 0
        self._move("open", reason)

    def _move(self, to_state: BreakerState, reason: str) -> None:
        self.transitions.append(BreakerTransition(self._state, to_state, time.time(), reason))
        self._state = to_state
        if to_state != "half_open":
            self._probes = 0
