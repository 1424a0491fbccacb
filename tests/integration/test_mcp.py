"""tasksync over MCP with the SDK's own client: /mcp on a real server's port (streamable HTTP)
and `tasksync mcp` on stdio. Each tool answers as the HTTP request it stands for does."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import msgspec
import pytest
from mcp import Client, StdioServerParameters

from tasksync.mcp_server.tools import TOOLS
from tasksync.models import SyncRequest, TaskCreate, TaskUpdate
from tests.support.servers import ServerThread

TASKSYNC = str(Path(sys.executable).with_name("tasksync"))


def _mcp_url(server: ServerThread) -> str:
    return f"{server.base_url}/mcp"


async def test_tools_are_listed_with_the_http_models_schemas(server: ServerThread) -> None:
    async with Client(_mcp_url(server)) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == {"create_task", "get_task", "list_tasks", "update_task",
                           "delete_task", "sync_batch", "read_changes"}
    for model, tool in ((TaskCreate, "create_task"), (TaskUpdate, "update_task"),
                        (SyncRequest, "sync_batch")):
        own = msgspec.json.schema(model)["$defs"][model.__name__]
        schema = listed[tool].input_schema
        for name, field in own["properties"].items():
            assert schema["properties"][name] == field, (tool, name)
        assert set(own.get("required", [])) <= set(schema["required"])
    assert "idempotency_key" in listed["create_task"].input_schema["properties"]
    assert listed["update_task"].input_schema["required"] == ["task_id"]
    assert listed["get_task"].annotations.read_only_hint
    assert not listed["delete_task"].annotations.read_only_hint


async def test_a_retried_create_under_one_key_makes_one_task(server: ServerThread) -> None:
    async with Client(_mcp_url(server)) as client:
        arguments = {"repository": "mcp-retry", "content": "once", "idempotency_key": "k-1"}
        first = await client.call_tool("create_task", arguments)
        again = await client.call_tool("create_task", arguments)
        other = await client.call_tool("create_task", {**arguments, "idempotency_key": "k-2"})
        listed = await client.call_tool("list_tasks", {"repository": "mcp-retry"})
    assert not first.is_error and not again.is_error
    assert again.structured_content == first.structured_content
    assert other.structured_content["id"] != first.structured_content["id"]
    assert sorted(task["id"] for task in listed.structured_content["tasks"]) == sorted(
        [first.structured_content["id"], other.structured_content["id"]])


async def test_update_delete_and_the_change_log(server: ServerThread) -> None:
    async with Client(_mcp_url(server)) as client:
        created = (await client.call_tool(
            "create_task", {"repository": "mcp-log", "content": "a"})).structured_content
        task_id = created["id"]
        updated = await client.call_tool("update_task", {
            "task_id": task_id, "status": "completed", "expected_version": 1})
        stale = await client.call_tool("update_task", {
            "task_id": task_id, "content": "b", "expected_version": 1})
        deleted = await client.call_tool("delete_task", {"task_id": task_id,
                                                         "expected_version": 2})
        got = await client.call_tool("get_task", {"task_id": task_id})
        log = await client.call_tool("read_changes", {"repository": "mcp-log", "after": 1})
    assert updated.structured_content["status"] == "completed"
    assert updated.structured_content["version"] == 2
    assert stale.is_error and stale.structured_content["status"] == 412
    assert deleted.structured_content["deleted"] is True
    assert got.structured_content["version"] == 3
    assert [event["seq"] for event in log.structured_content["events"]] == [2, 3]


async def test_batch_sync_applies_each_change_once(server: ServerThread) -> None:
    batch = {"repository": "mcp-sync", "client_id": "laptop", "idempotency_key": "batch-1",
             "items": [{"change_id": f"c{n}", "task_id": f"t{n}",
                        "task": {"content": f"item {n}"}} for n in range(3)]}
    async with Client(_mcp_url(server)) as client:
        first = await client.call_tool("sync_batch", batch)
        replay = await client.call_tool("sync_batch", {**batch, "idempotency_key": "batch-2"})
    assert {item["outcome"] for item in first.structured_content["results"]} == {"created"}
    assert not any(item["replayed"] for item in first.structured_content["results"])
    assert all(item["replayed"] for item in replay.structured_content["results"])
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        page = (await http.get("/api/v1/tasks", params={"repository": "mcp-sync"})).json()
    assert len(page["tasks"]) == 3


@pytest.mark.parametrize(("tool", "arguments", "method", "path", "body"), [
    ("create_task", {"repository": "bad repo!", "content": "x"}, "POST", "/api/v1/tasks",
     {"repository": "bad repo!", "content": "x"}),
    ("create_task", {"repository": "r", "content": "x", "status": "done"}, "POST",
     "/api/v1/tasks", {"repository": "r", "content": "x", "status": "done"}),
    ("get_task", {"task_id": "missing"}, "GET", "/api/v1/tasks/missing", None),
    ("update_task", {"task_id": "missing", "content": "x"}, "PATCH", "/api/v1/tasks/missing",
     {"content": "x"}),
    ("read_changes", {"repository": "r", "limit": 0}, "GET",
     "/api/v1/repositories/r/changes?limit=0", None),
])
async def test_errors_are_tool_errors_with_the_http_message(
        server: ServerThread, tool: str, arguments: dict, method: str, path: str,
        body: dict | None) -> None:
    async with Client(_mcp_url(server)) as client:
        result = await client.call_tool(tool, arguments)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        reply = await http.request(method, path, json=body, headers={"X-Client-ID": "mcp"})
    assert reply.status_code >= 400
    assert result.is_error
    assert result.structured_content == {"status": reply.status_code, **reply.json()}
    assert reply.json()["message"] in result.content[0].text


async def test_unknown_tools_and_arguments_are_explained(server: ServerThread) -> None:
    async with Client(_mcp_url(server)) as client:
        unknown = await client.call_tool("drop_everything", {})
        extra = await client.call_tool("get_task", {"task_id": "x", "verbose": True})
    assert unknown.is_error and "create_task" in unknown.content[0].text
    assert extra.is_error and "verbose" in extra.content[0].text


async def test_stdio_embedded_server_keeps_its_tasks(tmp_path: Path) -> None:
    parameters = StdioServerParameters(command=TASKSYNC, args=["mcp", "--db", str(tmp_path / "d.db")])
    async with Client(parameters) as client:
        created = await client.call_tool("create_task", {"repository": "desk", "content": "x"})
    async with Client(parameters) as client:  # a new process on the same file
        listed = await client.call_tool("list_tasks", {"repository": "desk"})
    assert [task["id"] for task in listed.structured_content["tasks"]] == [
        created.structured_content["id"]]


async def test_stdio_calls_a_running_server(server: ServerThread) -> None:
    parameters = StdioServerParameters(command=TASKSYNC,
                                       args=["--server", server.base_url, "mcp"])
    async with Client(parameters) as client:
        created = await client.call_tool("create_task", {"repository": "far", "content": "x"})
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        task = (await http.get(f"/api/v1/tasks/{created.structured_content['id']}")).json()
    assert task["content"] == "x" and task["origin"] == "mcp"


async def test_stdio_says_when_the_server_cannot_be_reached(tmp_path: Path) -> None:
    parameters = StdioServerParameters(command=TASKSYNC,
                                       args=["--server", "http://127.0.0.1:9", "mcp"])
    async with Client(parameters) as client:
        result = await client.call_tool("list_tasks", {"repository": "r"})
    assert result.is_error
    assert "cannot reach the tasksync server at http://127.0.0.1:9" in result.content[0].text


def test_every_tool_has_a_path_for_each_of_its_path_arguments() -> None:
    for tool in TOOLS.values():
        assert all("{" + name + "}" in tool.path for name in tool.path_args), tool.name
