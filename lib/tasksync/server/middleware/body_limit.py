"""413 for request bodies over the limit, whether announced by Content-Length or streamed."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tasksync.server.middleware.response_status import track_status
from tasksync.server.middleware.responses import header, send_error


class BodyTooLarge(Exception):
    """A streamed body went over the limit (raised from receive, turned into 413)."""


class BodyLimitMiddleware:
    """Stops reading a body at `max_bytes` and answers 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        response, send = track_status(scope, send)

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            if response.status is None:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        await send_error(
            send, 413, "body_too_large",
            f"request body is over {self.max_bytes} bytes; split it (e.g. smaller sync batches)",
        )
