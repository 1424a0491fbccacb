"""Every HTTP request's gates in one middleware, in order: count and time the request, then
refuse an oversize body, a bad client id or unsupported client version, a client over its
rate, a storage call while the breaker is open.

The checks live with their subjects (body_limit, client_version, rate_limit,
circuit_breaker, metrics); this runs them in order. One middleware rather than one each:
every nested ASGI layer puts a coroutine, a frame and often a `send` wrapper on each
request, and under load the five layers cost more than a create's own checks
(benchmarks/README.md). Rate limiting comes before the breaker, so 429s never count as
failures.
"""

from __future__ import annotations

import time
from dataclasses import KW_ONLY, dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from tasksync.server.metrics import ServerMetrics
from tasksync.server.middleware.body_limit import (
    BodyTooLarge,
    body_refusal,
    declared_size,
    limited,
)
from tasksync.server.middleware.circuit_breaker import CircuitBreaker, guarded, open_refusal
from tasksync.server.middleware.client_version import SUPPORTED_MAJOR_VERSIONS, client_refusal
from tasksync.server.middleware.metrics import route_template
from tasksync.server.middleware.rate_limit import RateLimiter, rate_refusal
from tasksync.server.middleware.response_status import ResponseStatus, track_status
from tasksync.server.middleware.responses import Refusal, send_error


@dataclass(eq=False, slots=True)
class Gates:
    """Pure ASGI middleware: the gates above around every HTTP request."""

    app: ASGIApp
    _: KW_ONLY
    metrics: ServerMetrics
    max_body_bytes: int
    limiter: RateLimiter
    breaker: CircuitBreaker
    supported_versions: frozenset[int] = SUPPORTED_MAJOR_VERSIONS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        response, send = track_status(scope, send)
        try:
            await self._gated(scope, receive, send, response)
        finally:
            status = 500 if response.status is None else response.status
            self.metrics.requests.record(scope["method"], route_template(scope["path"]), status,
                                         time.perf_counter() - started)

    async def _gated(self, scope: Scope, receive: Receive, send: Send,
                     response: ResponseStatus) -> None:
        size = declared_size(scope)
        refusal = self._refusal(scope, size)
        if refusal is not None:
            await send_error(send, *refusal)
            return
        watched = guarded(self.breaker, scope)
        if watched and (refusal := open_refusal(self.breaker)) is not None:
            await send_error(send, *refusal)
            return
        if size is None:  # not bounded by a Content-Length: count it as it streams
            receive = limited(receive, self.max_body_bytes)
        try:
            await self.app(scope, receive, send)
        except BodyTooLarge:  # a route that did not turn it into a 413 itself
            if response.status is None:
                await send_error(send, *body_refusal(self.max_body_bytes))
        finally:
            if watched:
                self.breaker.record(failed=response.status is None or response.status >= 500)

    def _refusal(self, scope: Scope, size: int | None) -> Refusal | None:
        if size is not None and size > self.max_body_bytes:
            return body_refusal(self.max_body_bytes)
        refusal = client_refusal(scope, self.supported_versions)
        if refusal is None:
            refusal = rate_refusal(self.limiter, scope)
            if refusal is not None:
                self.metrics.rate_limited.inc()
        return refusal
