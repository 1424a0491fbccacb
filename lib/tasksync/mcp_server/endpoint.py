"""/mcp on the server's port: MCP's streamable HTTP transport, with tool calls made in process
to the same app (tools.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import ASGIApp, Receive, Scope, Send

from tasksync.mcp_server.calls import in_process
from tasksync.mcp_server.server import mcp_server

PATH = "/mcp"


class McpEndpoint:
    """An ASGI app for PATH; `bind` it to the server's app before it starts."""

    def __init__(self) -> None:
        self._sessions: StreamableHTTPSessionManager | None = None
        self._client: httpx.AsyncClient | None = None

    def bind(self, app: ASGIApp) -> None:
        call, self._client = in_process(app)
        # Sessions live in this process: a restarted server answers an old session id with
        # 404, and the client starts a new session (tools are idempotent under their keys).
        self._sessions = StreamableHTTPSessionManager(app=mcp_server(call))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self._sessions is not None, "McpEndpoint.bind(app) before serving"
        await self._sessions.asgi_app(scope, receive, send)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While the server runs: the session manager's task group, the in-process client."""
        assert self._sessions is not None and self._client is not None
        async with self._client, self._sessions.run():
            yield
