"""/mcp on the server's port: MCP's streamable HTTP transport, with tool calls made in process
to the same app (tools.py).

The SDK is imported, and its session manager started, on the first request to /mcp: the
import takes a second or more, and every server start (tests, crash restarts, replicas)
would pay it for an endpoint most runs never call.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

PATH = "/mcp"


class McpEndpoint:
    """An ASGI app for PATH; `bind` it to the server's app, and run the server inside
    `running()` (which stops the sessions, if any were started, on the way out)."""

    def __init__(self) -> None:
        self._app: ASGIApp | None = None
        self._sessions: Any = None  # the SDK's StreamableHTTPSessionManager, once started
        self._starting: asyncio.Lock | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def bind(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sessions = self._sessions or await self._start()
        await sessions.asgi_app(scope, receive, send)

    async def _start(self) -> Any:
        assert self._app is not None, "McpEndpoint.bind(app) before serving"
        assert self._starting is not None, "serve inside McpEndpoint.running()"
        async with self._starting:
            if self._sessions is None:
                started = asyncio.get_running_loop().create_future()
                self._task = asyncio.create_task(self._serve(started))
                self._sessions = await started
        return self._sessions

    async def _serve(self, started: asyncio.Future[Any]) -> None:
        """Own the session manager's task group (anyio) in a task of its own until stopped."""
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        from tasksync.mcp_server.calls import in_process
        from tasksync.mcp_server.server import mcp_server

        assert self._app is not None and self._stop is not None
        call, client = in_process(self._app)
        # Sessions live in this process: a restarted server answers an old session id with
        # 404, and the client starts a new session (tools are idempotent under their keys).
        sessions = StreamableHTTPSessionManager(app=mcp_server(call))
        try:
            async with client, sessions.run():
                started.set_result(sessions)
                await self._stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    @contextlib.asynccontextmanager
    async def running(self) -> Any:
        """While the server runs; on the way out, the sessions end (if any started)."""
        self._starting, self._stop = asyncio.Lock(), asyncio.Event()
        try:
            yield
        finally:
            self._stop.set()
            if self._task is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await self._task
