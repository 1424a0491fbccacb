"""What pure-ASGI code shares: reading a header, sending a JSON reply or error."""

from __future__ import annotations

from typing import NamedTuple

import msgspec
from starlette.types import Scope, Send


class Refusal(NamedTuple):
    """A request a gate refuses: the error reply to send instead of calling the route."""

    status: int
    code: str
    message: str
    headers: dict[str, str] | None = None


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower-case bytes), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def send_error(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    """Send a complete JSON error response in the protocol's ErrorBody shape."""
    body = msgspec.json.encode({"error": code, "message": message})
    await send_json(send, status, body, headers)


async def send_json(send: Send, status: int, body: bytes,
                    headers: dict[str, str] | None = None) -> None:
    """Send a complete response with a JSON `body` and any extra `headers`."""
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if headers:
        raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
