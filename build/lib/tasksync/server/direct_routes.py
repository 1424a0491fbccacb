"""Exact-path routes served straight after the gates, past Starlette's router and exception
middleware: POST /api/v1/tasks and POST /api/v1/sync/batch, the paths every client writes to.

Everything else goes on to Starlette. An exception from a direct route is answered by the
same handler Starlette would use (looked up the same way, along the exception's MRO); one
with no handler but the catch-all `Exception` one is re-raised, so that Starlette's
server-error middleware answers it 500 as for every other route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tasksync.server.middleware.response_status import track_status

Handler = Callable[[Request, Exception], Awaitable[Response]]


class DirectRoutes:
    """Pure ASGI middleware: (method, path) -> ASGI app for the routes it serves itself."""

    def __init__(self, app: ASGIApp, routes: Mapping[tuple[str, str], ASGIApp],
                 handlers: Mapping[type[Exception], Handler]) -> None:
        self.app = app
        self.routes = dict(routes)
        self.handlers = {kind: handler for kind, handler in handlers.items()
                         if kind is not Exception}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (self.routes.get((scope["method"], scope["path"]))
                 if scope["type"] == "http" else None)
        if route is None:
            await self.app(scope, receive, send)
            return
        response, send = track_status(scope, send)  # already tracked by the gates: no wrap
        try:
            await route(scope, receive, send)
        except Exception as exc:
            handler = next((self.handlers[kind] for kind in type(exc).__mro__
                            if kind in self.handlers), None)
            if handler is None or response.status is not None:
                raise  # no handler, or too late to answer: as Starlette does
            reply = await handler(Request(scope, receive), exc)
            await reply(scope, receive, send)
