"""413 for request bodies over the limit, whether announced by Content-Length or streamed."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope

from tasksync.server.middleware.responses import Refusal, header


class BodyTooLarge(Exception):
    """A streamed body went over the limit (raised from receive, turned into 413)."""


def body_refusal(max_bytes: int) -> Refusal:
    return Refusal(413, "body_too_large", f"request body is over {max_bytes} bytes; split it"
                   " (e.g. smaller sync batches)")


def declared_size(scope: Scope) -> int | None:
    """The body size the request declares when that bounds what the server reads: a
    Content-Length without Transfer-Encoding (the HTTP parser then reads exactly that many
    bytes). None for a chunked or undeclared body, which must be counted as it streams."""
    declared = header(scope, b"content-length")
    if declared is None or not declared.isdigit() or header(scope, b"transfer-encoding"):
        return None
    return int(declared)


def limited(receive: Receive, max_bytes: int) -> Receive:
    """`receive` that raises BodyTooLarge once the body read so far is over `max_bytes`."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise BodyTooLarge
        return message

    return limited_receive
