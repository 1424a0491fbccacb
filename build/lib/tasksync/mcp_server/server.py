"""The MCP server object: the tools of tools.py over one way of making HTTP calls."""

from __future__ import annotations

from typing import Any

from mcp import types
from mcp.server import Server, ServerRequestContext

from tasksync import __version__
from tasksync.mcp_server.tools import Call, call_tool, tool_definitions

INSTRUCTIONS = (
    "Tasks live in repositories; every write returns the task with its version. Give writes an "
    "idempotency_key and send the same key when you retry, and the change is applied once."
)


def mcp_server(call: Call) -> Server[Any]:
    """An MCP server whose tool calls are HTTP requests made with `call`."""
    definitions = tool_definitions()
    schemas = {definition.name: definition.input_schema for definition in definitions}

    async def list_tools(context: ServerRequestContext[Any],
                         params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=definitions)

    async def on_call(context: ServerRequestContext[Any],
                      params: types.CallToolRequestParams) -> types.CallToolResult:
        return await call_tool(call, params.name, params.arguments)

    return Server("tasksync", version=__version__, instructions=INSTRUCTIONS,
                  get_tool_input_schema=schemas.get, on_list_tools=list_tools,
                  on_call_tool=on_call)
