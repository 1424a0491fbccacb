"""The MCP tools' requests: each tool's arguments become the HTTP request it stands for."""

from __future__ import annotations

import json

import pytest

from tasksync.mcp_server.tools import TOOLS, BadArguments


def test_a_write_carries_its_key_caller_and_expected_version_as_headers() -> None:
    path, query, headers, body = TOOLS["update_task"].request({
        "task_id": "t/1", "content": "new", "expected_version": 4,
        "idempotency_key": "k", "client_id": "desk"})
    assert path == "/api/v1/tasks/t%2F1"
    assert query == {}
    assert headers == {"X-Client-ID": "desk", "Idempotency-Key": "k", "If-Match": "4"}
    assert json.loads(body) == {"content": "new"}


def test_sync_names_its_caller_in_the_body_and_keeps_it_there() -> None:
    _, _, headers, body = TOOLS["sync_batch"].request({"repository": "r", "client_id": "laptop"})
    assert headers["X-Client-ID"] == "laptop"
    assert json.loads(body) == {"repository": "r", "client_id": "laptop"}


def test_reads_put_their_arguments_in_the_query() -> None:
    path, query, headers, body = TOOLS["list_tasks"].request(
        {"repository": "r", "limit": 5, "include_deleted": True})
    assert (path, body) == ("/api/v1/tasks", None)
    assert query == {"repository": "r", "limit": "5", "include_deleted": "true"}
    assert headers == {"X-Client-ID": "mcp"}


def test_a_read_refuses_arguments_it_does_not_take() -> None:
    with pytest.raises(BadArguments, match="read_changes does not take cursor"):
        TOOLS["read_changes"].request({"repository": "r", "cursor": 3})


def test_a_missing_path_argument_is_named() -> None:
    with pytest.raises(BadArguments, match="update_task needs task_id"):
        TOOLS["update_task"].request({"content": "x"})


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_every_schema_is_an_object_with_its_path_arguments_required(name: str) -> None:
    tool = TOOLS[name]
    schema = tool.input_schema()
    assert schema["type"] == "object"
    assert set(tool.path_args) <= set(schema["required"]) <= set(schema["properties"])
    assert ("idempotency_key" in schema["properties"]) == tool.writes
    assert ("expected_version" in schema["properties"]) == tool.conditional
