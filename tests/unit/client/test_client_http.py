"""HTTPClient and BatchClient: what goes on the wire and what comes back, typed."""

from __future__ import annotations

import msgspec
import pytest

from tasksync.client import (
    BatchClient,
    HTTPClient,
    ProtocolError,
    ValidationFailed,
    VersionConflict,
)
from tasksync.models import SyncItem, SyncTaskFields

from .servers import Reply, ScriptedHTTPServer, event_json, task_json


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_every_request_names_the_client_and_its_version(
    http_server: ScriptedHTTPServer, transport: str
) -> None:
    client = HTTPClient(
        http_server.url, client_id="replica-7", client_version="1.4.2", transport=transport
    )  # type: ignore[arg-type]
    async with client:
        await client.noop()
    headers = http_server.requests[0].headers
    assert headers["x-client-id"] == "replica-7" and headers["x-client-version"] == "1.4.2"
    assert http_server.requests[0].path == "/api/v1/noop"


async def test_a_client_id_is_generated_when_none_is_given(http_server: ScriptedHTTPServer) -> None:
    async with HTTPClient(http_server.url) as a, HTTPClient(http_server.url) as b:
        assert a.client_id and a.client_id != b.client_id


async def test_create_sends_only_given_fields_and_returns_the_task(
    http_server: ScriptedHTTPServer,
) -> None:
    http_server.script(Reply(201, task_json("t9", content="buy milk", priority="high")))
    async with HTTPClient(http_server.url) as client:
        task = await client.create_task("repo-a", "buy milk", priority="high")
    request = http_server.requests[0]
    assert (request.method, request.path) == ("POST", "/api/v1/tasks")
    assert msgspec.json.decode(request.body) == {
        "repository": "repo-a",
        "content": "buy milk",
        "status": "pending",
        "priority": "high",
    }
    assert request.headers["content-type"] == "application/json"
    assert (task.id, task.priority) == ("t9", "high")


async def test_update_sends_if_match_and_a_stale_version_raises_with_current(
    http_server: ScriptedHTTPServer,
) -> None:
    http_server.script(
        Reply(
            412,
            {
                "error": "version_mismatch",
                "message": "stale",
                "current": task_json("a:b", version=5),
            },
        )
    )
    async with HTTPClient(http_server.url) as client:
        with pytest.raises(VersionConflict) as caught:
            await client.update_task("a:b", status="completed", if_match=4)
    request = http_server.requests[0]
    assert request.method == "PATCH" and request.path == "/api/v1/tasks/a:b"
    assert request.headers["if-match"] == "4"
    assert msgspec.json.decode(request.body) == {"status": "completed"}
    assert caught.value.current is not None and caught.value.current.version == 5


async def test_delete_returns_the_tombstone(http_server: ScriptedHTTPServer) -> None:
    http_server.script(Reply(200, task_json("t1", version=3, deleted=True)))
    async with HTTPClient(http_server.url) as client:
        tombstone = await client.delete_task("t1", if_match=2)
    assert tombstone.deleted and http_server.requests[0].method == "DELETE"
    assert "idempotency-key" in http_server.requests[0].headers


async def test_invalid_field_is_named(http_server: ScriptedHTTPServer) -> None:
    http_server.script(
        Reply(422, {"error": "validation_error", "message": "bad", "field": "$.status"})
    )
    async with HTTPClient(http_server.url) as client:
        with pytest.raises(ValidationFailed) as caught:
            await client.create_task("repo-a", "x", status="done")
    assert caught.value.field == "$.status"


async def test_iterating_walks_every_page(http_server: ScriptedHTTPServer) -> None:
    http_server.script(
        Reply(200, {"tasks": [task_json("a"), task_json("b")], "next": "tok1"}),
        Reply(200, {"tasks": [task_json("c")], "next": None}),
    )
    async with HTTPClient(http_server.url) as client:
        ids = [task.id async for task in client.iter_tasks("repo-a", page_size=2)]
    assert ids == ["a", "b", "c"]
    first, second = http_server.requests
    assert first.query == {"repository": "repo-a", "limit": "2", "include_deleted": "false"}
    assert second.query["page_token"] == "tok1"


async def test_changes_asks_after_a_seq(http_server: ScriptedHTTPServer) -> None:
    http_server.script(
        Reply(
            200,
            {"repository": "r", "events": [event_json(4, "r")], "last_seq": 4, "earliest_seq": 1},
        )
    )
    async with HTTPClient(http_server.url) as client:
        page = await client.changes("r", after=3, limit=10)
    assert [e.seq for e in page.events] == [4]
    assert http_server.requests[0].path == "/api/v1/repositories/r/changes"
    assert http_server.requests[0].query == {"after": "3", "limit": "10"}


async def test_a_body_off_the_protocol_is_a_protocol_error(http_server: ScriptedHTTPServer) -> None:
    http_server.script(Reply(200, {"not": "a task"}))
    async with HTTPClient(http_server.url) as client:
        with pytest.raises(ProtocolError, match="Task"):
            await client.get_task("t1")


async def test_batch_sync_pushes_items_with_an_idempotency_key(
    http_server: ScriptedHTTPServer,
) -> None:
    http_server.script(
        Reply(503, {"error": "storage_unavailable", "message": "later"}, {"Retry-After": "0"}),
        Reply(
            200,
            {
                "repository": "repo-a",
                "results": [],
                "conflicts": [],
                "changes": [event_json(1)],
                "cursor": 1,
            },
        ),
    )
    item = SyncItem(change_id="c1", task_id="t1", task=SyncTaskFields(content="hi"))
    async with BatchClient(http_server.url, client_id="replica-1") as client:
        response = await client.batch_sync("repo-a", [item], cursor=0, strategy="merge")
    assert response.cursor == 1 and response.changes[0].seq == 1
    first, second = http_server.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    sent = msgspec.json.decode(second.body)
    assert sent["client_id"] == "replica-1" and sent["strategy"] == "merge"
    assert sent["items"][0]["change_id"] == "c1" and second.path == "/api/v1/sync/batch"
