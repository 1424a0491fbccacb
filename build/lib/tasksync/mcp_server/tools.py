"""The tasks API as MCP tools.

Each tool call is one request to the HTTP API (in process for /mcp, over the network for
`tasksync mcp --server`), so a tool meets the same checks, gates, idempotency records and
error messages as the HTTP request it stands for; nothing here re-implements a rule. Input
schemas are the JSON Schemas of the same msgspec models the HTTP API decodes, plus the
request's headers and path/query parameters as named arguments.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import msgspec
from mcp import types

from tasksync.models import SyncRequest, TaskCreate, TaskUpdate

# One HTTP call: method, path, query, headers, JSON body (None: no body) -> status, body.
Call = Callable[[str, str, Mapping[str, str], Mapping[str, str], bytes | None],
                Awaitable[tuple[int, bytes]]]

_KEY = {"type": "string", "minLength": 1, "maxLength": 200,
        "description": "Idempotency-Key: send the same key when retrying this call, and the "
                       "server applies it once and replays its first reply"}
_CLIENT = {"type": "string", "minLength": 1, "maxLength": 200,
           "description": "X-Client-ID: who makes the change (default: mcp)"}
_TASK_ID = {"type": "string", "minLength": 1, "maxLength": 128, "description": "the task's id"}
_VERSION = {"type": "integer", "minimum": 0,
            "description": "If-Match: the version you last saw; refused with 412 if the task "
                           "has moved on since"}
_REPOSITORY = msgspec.json.schema(TaskCreate)["$defs"]["TaskCreate"]["properties"]["repository"]
DEFAULT_CLIENT = "mcp"


@dataclass(frozen=True)
class Tool:
    """One MCP tool and the HTTP request it makes."""

    name: str
    description: str
    method: str
    path: str  # with {argument} placeholders
    body: type | None = None  # the model whose schema is the input and which is the body
    path_args: Mapping[str, dict] = field(default_factory=dict)  # path argument -> schema
    query: Mapping[str, dict] = field(default_factory=dict)  # query argument -> schema
    writes: bool = False
    conditional: bool = False  # takes expected_version (If-Match)

    def input_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        if self.body is not None:
            whole = msgspec.json.schema(self.body)
            definitions = whole.pop("$defs")
            own = definitions.pop(self.body.__name__)
            schema["properties"].update(own["properties"])
            schema["required"] += own.get("required", [])
            schema["additionalProperties"] = False
            if definitions:
                schema["$defs"] = definitions
        for name, argument in self.path_args.items():
            schema["properties"][name] = argument
            schema["required"].append(name)
        schema["properties"].update(self.query)
        if self.conditional:
            schema["properties"]["expected_version"] = _VERSION
        if self.writes:
            schema["properties"]["idempotency_key"] = _KEY
            # a body with a client_id of its own (sync) names the caller there
            schema["properties"].setdefault("client_id", _CLIENT)
        return schema

    def request(self, arguments: Mapping[str, Any]) -> tuple[str, dict[str, str], dict[str, str],
                                                            bytes | None]:
        """(path, query, headers, body) for a call with `arguments`."""
        given = dict(arguments)
        missing = sorted(set(self.path_args) - set(given))
        if missing:
            raise BadArguments(f"{self.name} needs {', '.join(missing)}; see its input schema")
        path = self.path.format(**{name: quote(str(given.pop(name)), safe="")
                                   for name in self.path_args})
        query = {name: _query_value(given.pop(name)) for name in self.query if name in given}
        caller = given.get("client_id") if self._body_fields() & {"client_id"} else (
            given.pop("client_id", None))
        headers = {"X-Client-ID": str(caller or DEFAULT_CLIENT)}
        if "idempotency_key" in given:
            headers["Idempotency-Key"] = str(given.pop("idempotency_key"))
        if "expected_version" in given:
            headers["If-Match"] = str(given.pop("expected_version"))
        body = msgspec.json.encode(given) if self.body is not None else None
        if body is None and given:
            raise BadArguments(f"{self.name} does not take {', '.join(sorted(given))}; see "
                               "its input schema")
        return path, query, headers, body

    def _body_fields(self) -> set[str]:
        return set(self.body.__struct_fields__) if self.body is not None else set()


class BadArguments(Exception):
    """Arguments that make no request: a path argument missing, or one a tool without a
    body does not take (a body's own fields are checked by the API, with its messages)."""


def _query_value(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _int(low: int, high: int, description: str) -> dict:
    return {"type": "integer", "minimum": low, "maximum": high, "description": description}


TOOLS: dict[str, Tool] = {tool.name: tool for tool in (
    Tool("create_task", "Create a task in a repository (POST /api/v1/tasks).",
         "POST", "/api/v1/tasks", body=TaskCreate, writes=True),
    Tool("get_task", "Read one task by id, with its version (GET /api/v1/tasks/{id}).",
         "GET", "/api/v1/tasks/{task_id}", path_args={"task_id": _TASK_ID}),
    Tool("list_tasks", "List a repository's tasks in creation order; pass the reply's `next` "
         "as page_token for the following page (GET /api/v1/tasks).",
         "GET", "/api/v1/tasks", query={
             "repository": _REPOSITORY,
             "limit": _int(1, 1000, "tasks per page (default 100)"),
             "page_token": _int(0, 2**62, "where to continue: the previous page's `next`"),
             "include_deleted": {"type": "boolean", "description": "list deleted tasks too"},
         }),
    Tool("update_task", "Change a task's content, status or priority; give expected_version to "
         "refuse the change if someone else changed the task first (PATCH /api/v1/tasks/{id}).",
         "PATCH", "/api/v1/tasks/{task_id}", body=TaskUpdate, path_args={"task_id": _TASK_ID},
         writes=True, conditional=True),
    Tool("delete_task", "Delete a task (a tombstone other clients sync); give expected_version "
         "to delete only the version you saw (DELETE /api/v1/tasks/{id}).",
         "DELETE", "/api/v1/tasks/{task_id}", path_args={"task_id": _TASK_ID}, writes=True,
         conditional=True),
    Tool("sync_batch", "Push local changes and pull the repository's changes after `cursor` in "
         "one call; conflicts are resolved by `strategy` (POST /api/v1/sync/batch).",
         "POST", "/api/v1/sync/batch", body=SyncRequest, writes=True),
    Tool("read_changes", "Read a repository's change log after seq `after` "
         "(GET /api/v1/repositories/{repository}/changes).",
         "GET", "/api/v1/repositories/{repository}/changes", path_args={"repository": _REPOSITORY}, query={
             "after": _int(0, 2**62, "the last seq you have (default 0: from the start)"),
             "limit": _int(1, 10_000, "events per page (default 1000)"),
         }),
)}


def tool_definitions() -> list[types.Tool]:
    definitions = []
    for tool in TOOLS.values():
        definitions.append(types.Tool(
            name=tool.name, description=tool.description, input_schema=tool.input_schema(),
            annotations=types.ToolAnnotations(read_only_hint=not tool.writes,
                                              idempotent_hint=not tool.writes,
                                              destructive_hint=tool.name == "delete_task")))
    return definitions


async def call_tool(call: Call, name: str, arguments: Mapping[str, Any] | None) -> types.CallToolResult:
    """Make the HTTP request tool `name` stands for; an HTTP error is a tool error with the
    API's own error code and message."""
    tool = TOOLS.get(name)
    if tool is None:
        return _error(f"unknown tool {name!r}; the tools are {', '.join(TOOLS)}")
    try:
        path, query, headers, body = tool.request(arguments or {})
    except BadArguments as exc:
        return _error(str(exc))
    status, reply = await call(tool.method, path, query, headers, body)
    try:
        document = json.loads(reply) if reply else {}
    except ValueError:
        document = {"error": "bad_reply", "message": reply[:200].decode(errors="replace")}
    if status >= 400:
        message = document.get("message") if isinstance(document, dict) else None
        code = document.get("error", "http_error") if isinstance(document, dict) else "http_error"
        return types.CallToolResult(
            content=[types.TextContent(type="text",
                                       text=f"{status} {code}: {message or reply.decode()}")],
            structured_content={"status": status, **(document if isinstance(document, dict) else {})},
            is_error=True)
    return types.CallToolResult(content=[types.TextContent(type="text", text=reply.decode())],
                                structured_content=document)


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)],
                                is_error=True)
