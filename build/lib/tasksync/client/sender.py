"""RetryingSender: the one place a request is sent, retried, broken off and observed.

HTTPClient and BatchClient both send through it, so retries, idempotency keys, the client
breaker and the observer behave the same for every operation, whichever Exchange (httpx, or
the aiohttp fast path, see exchange.py) carries the attempts.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tasksync import bugs
from tasksync.client.attempts import Attempt, Observer, notify
from tasksync.client.breaker import ClientBreaker
from tasksync.client.errors import (
    CircuitOpenError,
    HTTPStatusError,
    RetriesExhausted,
    ServerUnreachable,
    TaskSyncError,
    TransportError,
    error_for_status,
)
from tasksync.client.exchange import Exchange, Prepared, Reply, RequestParts
from tasksync.client.retry import RetryPolicy, parse_retry_after
from tasksync.ids import new_id

_UNREACHABLE = (httpx.ConnectError, httpx.ConnectTimeout)


# Internal records are not frozen: a frozen dataclass's __init__ costs a
# object.__setattr__ per field, on every call.
@dataclass(slots=True)
class _Call:
    """What every attempt of one logical call shares."""

    call_id: str
    operation: str
    idempotency_key: str | None


@dataclass(slots=True)
class _Result:
    """How one attempt ended: a 2xx response, or an error and whether to try again."""

    response: Reply | None
    error: TaskSyncError | None
    outcome: str
    status_code: int | None
    retryable: bool
    server_failing: bool  # counts against the client breaker
    deadline_hit: bool = False


class RetryingSender:
    """Sends requests through an Exchange, retrying per a RetryPolicy."""

    def __init__(
        self,
        exchange: Exchange,
        *,
        policy: RetryPolicy,
        client_id: str,
        breaker: ClientBreaker | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.exchange = exchange
        self.policy = policy
        self.client_id = client_id
        self.breaker = breaker
        self.observer = observer
        # One jitter source per client: a seeded policy then gives a reproducible sequence
        # without making concurrent calls back off in lockstep.
        self._rng: random.Random = policy.new_rng()

    async def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        write: bool = False,
        idempotency_key: str | None = None,
    ) -> Reply:
        """The 2xx response to the request, after retries; raises a TaskSyncError otherwise.

        A `write` gets one Idempotency-Key (`idempotency_key` when the caller gives one, to
        retry a write of its own later), reused by every attempt of this call, so a
        retried write is applied at most once.
        """
        key = (idempotency_key or new_id()) if write else None
        request_headers = dict(headers or {})
        if key is not None:
            request_headers["Idempotency-Key"] = key
        if content is not None:
            request_headers.setdefault("Content-Type", "application/json")
        parts = RequestParts(method, path, params, content, request_headers)
        request = self.exchange.prepare(parts)

        # The call id exists for the observer's Attempt records only; without an observer the
        # uuid4 (a getrandom syscall) is measurable on the hot path.
        call_id = uuid.uuid4().hex if self.observer is not None else ""
        call = _Call(call_id, operation, key)
        first_start = time.monotonic()
        deadline = None if self.policy.deadline is None else first_start + self.policy.deadline
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1 and key is not None and bugs.active("retry_new_idempotency_key"):
                # seeded bug: the retry is sent as a new request, under a new key
                key = call.idempotency_key = new_id()
                parts.headers = {**request_headers, "Idempotency-Key": key}
                request = self.exchange.prepare(parts)
            started = (time.time(), time.monotonic())
            try:
                probe = self.breaker.acquire() if self.breaker else False
            except CircuitOpenError:
                self._observe(call, attempt, started, "CircuitOpenError", None, None)
                raise

            result = await self._attempt_with_breaker(request, deadline, probe)
            retry_after = (
                result.error.retry_after if isinstance(result.error, HTTPStatusError) else None
            )
            if result.error is None:
                self._observe(call, attempt, started, "ok", result.status_code, None)
                assert result.response is not None
                return result.response
            if not result.retryable:
                self._observe(
                    call, attempt, started, result.outcome, result.status_code, None, retry_after
                )
                raise result.error

            heeded = None if bugs.active("retry_after_ignored") else retry_after  # seeded bug
            delay = self.policy.next_delay(attempt - 1, self._rng, heeded)
            elapsed = time.monotonic() - first_start
            if result.deadline_hit or not self.policy.may_retry(attempt, elapsed, delay):
                self._observe(
                    call, attempt, started, result.outcome, result.status_code, None, retry_after
                )
                out_of_attempts = self.policy.max_attempts is not None and (
                    attempt >= self.policy.max_attempts
                )
                why = "max_attempts reached" if out_of_attempts else "deadline reached"
                raise RetriesExhausted(attempt, elapsed, result.error, why) from result.error

            self._observe(
                call, attempt, started, result.outcome, result.status_code, delay, retry_after
            )
            await asyncio.sleep(delay)

    async def _attempt_with_breaker(
        self, request: Prepared, deadline: float | None, probe: bool
    ) -> _Result:
        """One attempt, with its verdict reported to the breaker (released if cancelled)."""
        if self.breaker is None:
            return await self._attempt(request, deadline)
        try:
            result = await self._attempt(request, deadline)
        except BaseException:
            self.breaker.release(probe)
            raise
        if result.server_failing:
            self.breaker.record_failure(probe, result.outcome)
        else:
            self.breaker.record_success(probe)
        return result

    async def _attempt(self, request: Prepared, deadline: float | None) -> _Result:
        """Send `request` once, bounded by the call's deadline, and classify the outcome."""
        try:
            # The whole call has a deadline, so an attempt may not outlive it either; the
            # loop's clock is time.monotonic, the same as `deadline`.
            async with asyncio.timeout_at(deadline):
                response = await self.exchange.send(request)
        except TimeoutError as exc:
            error = TransportError(
                "the attempt was cut off by RetryPolicy.deadline; raise the deadline or check "
                "why the server is slow",
                cause=exc,
            )
            # Marked retryable so that the loop reports RetriesExhausted ("deadline").
            return _Result(
                None,
                error,
                "DeadlineExceeded",
                None,
                retryable=True,
                server_failing=True,
                deadline_hit=True,
            )
        except httpx.TransportError as exc:
            return self._transport_failure(request, exc)

        status = response.status_code
        if 200 <= status < 300:
            return _Result(response, None, "ok", status, retryable=False, server_failing=False)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        failing = self.breaker is not None and status in self.breaker.config.failure_statuses
        return _Result(
            None,
            error_for_status(status, response.content, retry_after),
            str(status),
            status,
            retryable=self.policy.retries_status(status),
            server_failing=failing,
        )

    def _transport_failure(self, request: Prepared, exc: httpx.TransportError) -> _Result:
        """The result of an attempt that got no HTTP answer."""
        name = type(exc).__name__
        error_type = ServerUnreachable if isinstance(exc, _UNREACHABLE) else TransportError
        error = error_type(
            f"{name} on {request.method} {request.url}: {exc or 'no detail'}; "
            "check that the server is up and reachable",
            cause=exc,
        )
        return _Result(
            None, error, name, None, retryable=self.policy.retries_error(exc), server_failing=True
        )

    def _observe(
        self,
        call: _Call,
        attempt: int,
        started: tuple[float, float],
        outcome: str,
        status_code: int | None,
        delay: float | None,
        retry_after: float | None = None,
    ) -> None:
        if self.observer is None:
            return  # no record to build: this runs on every call's hot path
        notify(
            self.observer,
            Attempt(
                call_id=call.call_id,
                operation=call.operation,
                attempt=attempt,
                started_at=started[0],
                ended_at=time.time(),
                started_monotonic=started[1],
                ended_monotonic=time.monotonic(),
                outcome=outcome,
                status_code=status_code,
                delay_before_next=delay,
                idempotency_key=call.idempotency_key,
                client_id=self.client_id,
                retry_after=retry_after,
            ),
        )
