"""`tasksync mcp`: the MCP tools on stdin/stdout for desktop clients, calling a running server
(`--server`) or a server embedded in this process on its own database file (`--db`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from mcp.server.stdio import stdio_server

from tasksync.mcp_server.calls import in_process, over_network
from tasksync.mcp_server.server import mcp_server
from tasksync.mcp_server.tools import Call


async def serve_stdio(server_url: str, db_path: Path | None = None) -> None:
    """Serve MCP on stdio until stdin closes."""
    async with _calls(server_url, db_path) as call:
        server = mcp_server(call)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


@asynccontextmanager
async def _calls(server_url: str, db_path: Path | None) -> AsyncIterator[Call]:
    if db_path is None:
        call, client = over_network(server_url)
        async with client:
            yield call
        return
    from tasksync.server.app import create_app
    from tasksync.server.config import ServerConfig

    app = create_app(ServerConfig(db_path=db_path))
    call, client = in_process(app)
    async with app.router.lifespan_context(app), client:
        yield call
