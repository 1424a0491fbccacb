"""Every exception tasksync.client raises, as one tree.

    TaskSyncError                    anything this package raises
    ├── TransportError               no HTTP answer arrived (.cause: the httpx/websockets error)
    │   └── ServerUnreachable        no connection could be opened at all (also a
    │                                tasksync.errors.ServerUnreachable, as the replica's is)
    ├── ProtocolError                an answer arrived but does not match PROTOCOL.md
    ├── HTTPStatusError              the server answered non-2xx (.status_code, .code, .body)
    │   ├── BadRequest               400 bad_json / bad_request, 413 body_too_large
    │   ├── NotFound                 404 not_found
    │   ├── IdConflict               409 id_conflict (.current: the stored task)
    │   ├── VersionConflict          412 version_mismatch (.current: the stored task)
    │   ├── ValidationFailed         422 validation_error (.field: e.g. "$.status")
    │   ├── ClientVersionUnsupported 426 client_version_unsupported
    │   ├── RateLimited              429 rate_limited (.retry_after)
    │   └── ServiceUnavailable       502 / 503 / 504 (.retry_after)
    ├── RetriesExhausted             the retry policy gave up (.attempts, .last_error, .elapsed)
    └── CircuitOpenError             the client-side breaker is open; nothing was sent

Every message ends with what to do about it. `error_for_status` is the one place that turns
a non-2xx reply into one of these. Each says whether the call certainly changed nothing on
the server (`definitely_not_applied`): true for a connection never opened, the client
breaker, any 4xx and a 503 circuit_open / storage_unavailable (refused before writing, or
rolled back); false for timeouts, resets, 502/504 and anything the server may have applied.
"""

from __future__ import annotations

import msgspec

from tasksync import errors as shared
from tasksync.models import ErrorBody, Task

# 503 codes the server sends before touching storage or after rolling a write back
# (PROTOCOL.md): the request certainly did not apply.
NOTHING_WRITTEN_CODES = frozenset({"circuit_open", "storage_unavailable"})


class TaskSyncError(Exception):
    """Base of every error raised by tasksync.client."""

    # Unknown unless a subclass knows better: the request may have been applied.
    definitely_not_applied: bool = False


class TransportError(TaskSyncError):
    """The request got no HTTP answer: connection reset, timeout, malformed reply."""

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class ServerUnreachable(TransportError, shared.ServerUnreachable):
    """No connection to the server could be opened, so nothing was sent."""

    definitely_not_applied = True


class ProtocolError(TaskSyncError):
    """The server answered, but the body does not match the protocol's types."""


class HTTPStatusError(TaskSyncError):
    """The server answered with a non-2xx status; `body` is its ErrorBody when it sent one."""

    advice = "see the server's message above"

    def __init__(
        self,
        status_code: int,
        body: ErrorBody | None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after
        what = f"{body.error}: {body.message}" if body else "no error body"
        super().__init__(f"HTTP {status_code} ({what}); {self.advice}")

    @property
    def code(self) -> str | None:
        """The protocol's error code (`not_found`, `version_mismatch`, ...), if sent."""
        return self.body.error if self.body else None

    @property
    def definitely_not_applied(self) -> bool:  # type: ignore[override]
        """A 4xx is refused before any write; a 503 with a nothing-written code changed nothing."""
        if 400 <= self.status_code < 500:
            return True
        return self.status_code == 503 and self.code in NOTHING_WRITTEN_CODES

    @property
    def current(self) -> Task | None:
        """The task as the server stores it (sent with 409 and 412)."""
        return self.body.current if self.body else None


class BadRequest(HTTPStatusError):
    """400 or 413: the request itself is malformed or too large."""

    advice = "fix the request (JSON, query parameters, headers, size); retrying will not help"


class NotFound(HTTPStatusError):
    """404: no such task or route."""

    advice = "check the task id and base_url, or create the task first"


class IdConflict(HTTPStatusError):
    """409: a task with this id exists with different fields; `current` holds it."""

    advice = "use another id, or update the existing task (see .current)"


class VersionConflict(HTTPStatusError):
    """412: the If-Match version is stale; `current` holds the stored task."""

    advice = "refetch or use .current, reapply the edit and pass if_match=current.version"


class ValidationFailed(HTTPStatusError):
    """422: a field is invalid; `field` names it (e.g. `$.status`)."""

    advice = "correct the named field; retrying the same body will fail again"

    @property
    def field(self) -> str | None:
        """The JSON path of the offending field, as the server named it."""
        return self.body.field if self.body else None


class ClientVersionUnsupported(HTTPStatusError):
    """426: the server does not support this client_version's major version."""

    advice = "upgrade the client or pass a client_version whose major the server supports"


class RateLimited(HTTPStatusError):
    """429: this client's token bucket is empty."""

    advice = "slow down: wait Retry-After seconds or lower the request rate"


class ServiceUnavailable(HTTPStatusError):
    """502/503/504: the server (breaker, storage, gateway) cannot serve right now."""

    advice = "retry later (honour Retry-After); check the server's /health"


class RetriesExhausted(TaskSyncError):
    """The retry policy stopped retrying; `last_error` is what the final attempt met."""

    def __init__(self, attempts: int, elapsed: float, last_error: TaskSyncError, why: str) -> None:
        self.attempts = attempts
        self.elapsed = elapsed
        self.last_error = last_error
        super().__init__(
            f"gave up after {attempts} attempt(s) in {elapsed:.3f}s ({why}); last error: "
            f"{last_error}; raise RetryPolicy.max_attempts/deadline or check the server"
        )

    @property
    def definitely_not_applied(self) -> bool:  # type: ignore[override]
        """After one attempt, as that attempt's error; after several, an earlier one may have
        applied (a caller that saw every attempt's outcome can know better)."""
        return self.attempts == 1 and self.last_error.definitely_not_applied


class CircuitOpenError(TaskSyncError):
    """The client-side breaker is open, so the call failed fast without touching the network."""

    definitely_not_applied = True

    def __init__(self, retry_in: float) -> None:
        self.retry_in = retry_in
        super().__init__(
            f"client circuit breaker is open; nothing was sent; try again in {retry_in:.3f}s "
            "or check why the server keeps failing"
        )


_BY_STATUS: dict[int, type[HTTPStatusError]] = {
    400: BadRequest,
    404: NotFound,
    409: IdConflict,
    412: VersionConflict,
    413: BadRequest,
    422: ValidationFailed,
    426: ClientVersionUnsupported,
    429: RateLimited,
    502: ServiceUnavailable,
    503: ServiceUnavailable,
    504: ServiceUnavailable,
}


def error_for_status(
    status_code: int, content: bytes, retry_after: float | None = None
) -> HTTPStatusError:
    """The named exception for a non-2xx reply, with its ErrorBody decoded when it has one."""
    try:
        body: ErrorBody | None = msgspec.json.decode(content, type=ErrorBody)
    except msgspec.DecodeError:
        # A proxy (toxiproxy, a load balancer) can answer without the protocol's body.
        body = None
    cls = _BY_STATUS.get(status_code, HTTPStatusError)
    return cls(status_code, body, retry_after=retry_after)
