"""Attempt: the record of one HTTP attempt, handed to the client's observer.

Studies chart retries from these: one record per attempt (not per call), with both clocks so
that wall-clock alignment with server logs and precise durations are both possible.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of one logical call and how it ended.

    `outcome` is "ok" for a 2xx reply, the status code as text ("503") for any other reply,
    or the exception's class name ("ReadTimeout", "ConnectError", "CircuitOpenError",
    "DeadlineExceeded"). `delay_before_next` is the wait before the next attempt, or None
    when this was the last one. `idempotency_key` is the same for every attempt of a write.
    `retry_after` is the server's Retry-After on this reply in seconds, None when it sent none.
    """

    call_id: str
    operation: str
    attempt: int
    started_at: float
    ended_at: float
    started_monotonic: float
    ended_monotonic: float
    outcome: str
    status_code: int | None
    delay_before_next: float | None
    idempotency_key: str | None
    client_id: str
    retry_after: float | None = None

    @property
    def duration(self) -> float:
        """Seconds the attempt took, by the monotonic clock."""
        return self.ended_monotonic - self.started_monotonic


Observer = Callable[[Attempt], None]


def notify(observer: Observer | None, attempt: Attempt) -> None:
    """Hand `attempt` to the observer; a failing observer is logged, never breaks the call."""
    if observer is None:
        return
    try:
        observer(attempt)
    except Exception:
        # The observer is instrumentation: a bug there must not change what the call does.
        logger.exception("tasksync client observer failed on %r", attempt)
