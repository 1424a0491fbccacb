"""One `send` wrapper per request that remembers the response status.

The gates (metrics, body limit, breaker) and DirectRoutes each need to know whether and
with which status a response started. Each wrapping `send` for that would put another
coroutine call on every message of every response; the outermost one wraps it instead and
leaves the status in the scope, where the inner ones read it.
"""

from __future__ import annotations

from starlette.types import Message, Scope, Send

_SCOPE_KEY = "tasksync.response_status"


class ResponseStatus:
    """The status of the response once it has started, else None."""

    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status: int | None = None


def track_status(scope: Scope, send: Send) -> tuple[ResponseStatus, Send]:
    """This request's status holder and the `send` to pass on: wrapped only by the first
    (outermost) middleware that asks, the others get `send` unchanged."""
    holder = scope.get(_SCOPE_KEY)
    if holder is not None:
        return holder, send
    holder = scope[_SCOPE_KEY] = ResponseStatus()

    async def send_with_status(message: Message) -> None:
        if message["type"] == "http.response.start":
            holder.status = message["status"]
        await send(message)

    return holder, send_with_status
