"""Rejects clients whose X-Client-Version has a major version this server does not speak.

Also answers 400 for an X-Client-ID outside 1-200 characters on every route (not only the
writes that use it as `origin`): the rate limiter keys its buckets by that header.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from tasksync.server.http_api import MAX_HEADER_CHARS
from tasksync.server.middleware.responses import header, send_error

SUPPORTED_MAJOR_VERSIONS = frozenset({1})


class ClientVersionMiddleware:
    """426 Upgrade Required for an unsupported X-Client-Version; no header is accepted."""

    def __init__(self, app: ASGIApp, supported: frozenset[int] = SUPPORTED_MAJOR_VERSIONS):
        self.app = app
        self.supported = supported

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = header(scope, b"x-client-id") if scope["type"] == "http" else None
        if caller is not None and not 0 < len(caller) <= MAX_HEADER_CHARS:
            await send_error(send, 400, "bad_request",
                             f"X-Client-ID must be 1-{MAX_HEADER_CHARS} characters")
            return
        version = header(scope, b"x-client-version") if scope["type"] == "http" else None
        if version is not None:
            major = version.strip().lstrip("v").split(".", 1)[0]
            if not major.isdigit() or int(major) not in self.supported:
                wanted = ", ".join(f"{m}.x" for m in sorted(self.supported))
                await send_error(
                    send, 426, "client_version_unsupported",
                    f"client version {version!r} is not supported by this server (it speaks"
                    f" {wanted}); upgrade the client to a supported version",
                )
                return
        await self.app(scope, receive, send)
