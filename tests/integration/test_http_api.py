"""The tasks API over real HTTP against a server on 127.0.0.1."""

from __future__ import annotations

import time

import httpx
import pytest

from tasksync.clock import parse_rfc3339
from tests.support.servers import ServerThread


@pytest.fixture
async def http(server: ServerThread):
    async with httpx.AsyncClient(base_url=server.base_url, headers={"X-Client-ID": "tester"}) as client:
        yield client


async def create(http: httpx.AsyncClient, **fields: object) -> dict:
    response = await http.post("/api/v1/tasks", json={"repository": "r", "content": "x", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_assigns_version_1_and_server_fields(http: httpx.AsyncClient) -> None:
    task = await create(http, content="write tests", priority="high")
    assert task["version"] == 1 and task["origin"] == "tester" and not task["deleted"]
    assert task["created_at"] == task["updated_at"] and task["created_at"].endswith("Z")
    assert len(task["id"]) == 32


async def test_create_with_client_id_is_idempotent_for_identical_fields(http: httpx.AsyncClient) -> None:
    first = await create(http, id="my-task")
    again = await http.post("/api/v1/tasks", json={"repository": "r", "content": "x", "id": "my-task"})
    assert again.status_code == 200 and again.json() == first
    different = await http.post("/api/v1/tasks", json={"repository": "r", "content": "y", "id": "my-task"})
    assert different.status_code == 409
    assert different.json()["error"] == "id_conflict"
    assert different.json()["current"]["content"] == "x"


async def test_create_with_an_id_taken_in_another_repository_never_shows_that_task(
        http: httpx.AsyncClient) -> None:
    await create(http, id="shared-id", repository="alpha", content="alpha's secret")
    response = await http.post("/api/v1/tasks", json={"repository": "beta", "content": "x",
                                                      "id": "shared-id"})
    assert response.status_code == 409 and response.json()["error"] == "id_conflict"
    assert response.json().get("current") is None
    assert "alpha's secret" not in response.text and "another repository" in response.text


async def test_get_returns_task_and_404_for_unknown(http: httpx.AsyncClient) -> None:
    task = await create(http)
    response = await http.get(f"/api/v1/tasks/{task['id']}")
    assert response.json() == task and response.headers["etag"] == '"1"'
    missing = await http.get("/api/v1/tasks/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_list_pages_through_a_repository_in_creation_order(http: httpx.AsyncClient) -> None:
    ids = [(await create(http, content=f"task {i}"))["id"] for i in range(7)]
    await create(http, repository="other")
    seen, token = [], None
    while True:
        params = {"repository": "r", "limit": 3, **({"page_token": token} if token else {})}
        page = (await http.get("/api/v1/tasks", params=params)).json()
        seen += [task["id"] for task in page["tasks"]]
        token = page["next"]
        if token is None:
            break
    assert seen == ids


async def test_list_hides_tombstones_unless_asked(http: httpx.AsyncClient) -> None:
    kept, gone = await create(http), await create(http)
    await http.delete(f"/api/v1/tasks/{gone['id']}")
    visible = (await http.get("/api/v1/tasks", params={"repository": "r"})).json()["tasks"]
    everything = (await http.get("/api/v1/tasks", params={"repository": "r", "include_deleted": "true"})).json()["tasks"]
    assert [t["id"] for t in visible] == [kept["id"]]
    assert {t["id"] for t in everything} == {kept["id"], gone["id"]}


async def test_partial_update_bumps_version_and_keeps_other_fields(http: httpx.AsyncClient) -> None:
    task = await create(http, priority="high")
    response = await http.patch(f"/api/v1/tasks/{task['id']}", json={"status": "in_progress"})
    updated = response.json()
    assert response.status_code == 200
    assert (updated["version"], updated["status"], updated["priority"]) == (2, "in_progress", "high")
    assert updated["updated_at"] > task["updated_at"]


async def test_update_that_changes_nothing_keeps_the_version(http: httpx.AsyncClient) -> None:
    task = await create(http)
    response = await http.patch(f"/api/v1/tasks/{task['id']}", json={"content": "x"})
    assert response.json()["version"] == 1


async def test_if_match_stale_gives_412_with_current(http: httpx.AsyncClient) -> None:
    task = await create(http)
    ok = await http.patch(f"/api/v1/tasks/{task['id']}", json={"content": "a"}, headers={"If-Match": "1"})
    stale = await http.patch(f"/api/v1/tasks/{task['id']}", json={"content": "b"}, headers={"If-Match": "1"})
    assert ok.status_code == 200
    assert stale.status_code == 412
    assert stale.json()["current"]["version"] == 2 and stale.json()["current"]["content"] == "a"


async def test_update_without_if_match_applies_in_arrival_order(http: httpx.AsyncClient) -> None:
    task = await create(http)
    for content in ("a", "b", "c"):
        await http.patch(f"/api/v1/tasks/{task['id']}", json={"content": content})
    final = (await http.get(f"/api/v1/tasks/{task['id']}")).json()
    assert (final["content"], final["version"]) == ("c", 4)


async def test_delete_leaves_a_tombstone_and_is_repeatable(http: httpx.AsyncClient) -> None:
    task = await create(http)
    first = await http.delete(f"/api/v1/tasks/{task['id']}")
    second = await http.delete(f"/api/v1/tasks/{task['id']}")
    assert first.json()["deleted"] and first.json()["version"] == 2
    assert second.json() == first.json()
    assert (await http.get(f"/api/v1/tasks/{task['id']}")).json()["deleted"]
    edit = await http.patch(f"/api/v1/tasks/{task['id']}", json={"content": "zombie"})
    assert edit.status_code == 404
    assert (await http.delete("/api/v1/tasks/nope")).status_code == 404
    stale = await http.delete(f"/api/v1/tasks/{(await create(http))['id']}", headers={"If-Match": "7"})
    assert stale.status_code == 412


@pytest.mark.parametrize("method", ["post", "patch", "delete"])
async def test_idempotency_key_replays_the_stored_reply(http: httpx.AsyncClient, method: str) -> None:
    task = await create(http)
    headers = {"Idempotency-Key": f"key-{method}"}
    if method == "post":
        request = lambda: http.post("/api/v1/tasks", json={"repository": "r", "content": "once"}, headers=headers)  # noqa: E731
    elif method == "patch":
        request = lambda: http.patch(f"/api/v1/tasks/{task['id']}", json={"content": "once"}, headers=headers)  # noqa: E731
    else:
        request = lambda: http.delete(f"/api/v1/tasks/{task['id']}", headers=headers)  # noqa: E731
    first, retry = await request(), await request()
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert retry.headers["idempotent-replayed"] == "true"
    log = (await http.get("/api/v1/repositories/r/changes")).json()
    assert log["last_seq"] == 2, "the retry appended no event"


async def test_idempotency_key_reused_for_another_request_is_refused(http: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k"}
    await http.post("/api/v1/tasks", json={"repository": "r", "content": "a"}, headers=headers)
    other = await http.post("/api/v1/tasks", json={"repository": "r", "content": "b"}, headers=headers)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"


async def test_idempotency_keys_are_scoped_per_client(http: httpx.AsyncClient) -> None:
    body = {"repository": "r", "content": "a"}
    mine = await http.post("/api/v1/tasks", json=body, headers={"Idempotency-Key": "k"})
    theirs = await http.post("/api/v1/tasks", json=body, headers={"Idempotency-Key": "k", "X-Client-ID": "other"})
    assert theirs.status_code == 201 and theirs.json()["id"] != mine.json()["id"]


async def test_change_log_has_one_event_per_accepted_change(http: httpx.AsyncClient) -> None:
    task = await create(http)
    await http.patch(f"/api/v1/tasks/{task['id']}", json={"content": "b"})
    await http.delete(f"/api/v1/tasks/{task['id']}")
    log = (await http.get("/api/v1/repositories/r/changes", params={"after": 0})).json()
    assert [(e["seq"], e["type"], e["version"]) for e in log["events"]] == [
        (1, "task_created", 1), (2, "task_updated", 2), (3, "task_deleted", 3)]
    assert log["events"][1]["task"]["content"] == "b" and log["events"][1]["origin"] == "tester"
    later = (await http.get("/api/v1/repositories/r/changes", params={"after": 2, "limit": 1})).json()
    assert [e["seq"] for e in later["events"]] == [3] and not later["has_more"]
    first = (await http.get("/api/v1/repositories/r/changes", params={"after": 0, "limit": 1})).json()
    assert first["has_more"] and (first["earliest_seq"], first["last_seq"]) == (1, 3)


async def test_seq_is_per_repository(http: httpx.AsyncClient) -> None:
    await create(http, repository="a")
    await create(http, repository="b")
    await create(http, repository="a")
    assert (await http.get("/api/v1/repositories/a/changes")).json()["last_seq"] == 2
    assert (await http.get("/api/v1/repositories/b/changes")).json()["last_seq"] == 1


@pytest.mark.parametrize("body, status, field", [
    ({"repository": "r", "content": "x", "status": "done"}, 422, "$.status"),
    ({"repository": "r", "content": "x", "priority": "urgent"}, 422, "$.priority"),
    ({"repository": "", "content": "x"}, 422, "$.repository"),
    ({"repository": "has space", "content": "x"}, 422, "$.repository"),
    ({"repository": "r" * 101, "content": "x"}, 422, "$.repository"),
    ({"repository": "r", "content": "x" * 65_537}, 422, "$.content"),
    ({"repository": "r"}, 422, "$.content"),
    ({"repository": "r", "content": "x", "colour": "red"}, 422, "$.colour"),
    ({"repository": "r", "content": 5}, 422, "$.content"),
])
async def test_invalid_fields_get_422_naming_the_field(http: httpx.AsyncClient, body: dict, status: int, field: str) -> None:
    response = await http.post("/api/v1/tasks", json=body)
    assert response.status_code == status
    assert response.json()["error"] == "validation_error" and response.json()["field"] == field


async def test_malformed_requests_get_400_with_json_body(http: httpx.AsyncClient) -> None:
    cases = [
        await http.post("/api/v1/tasks", content=b"{not json"),
        await http.get("/api/v1/tasks"),
        await http.get("/api/v1/tasks", params={"repository": "r", "limit": "many"}),
        await http.get("/api/v1/tasks", params={"repository": "r", "limit": 0}),
        await http.get("/api/v1/tasks", params={"repository": "r", "include_deleted": "maybe"}),
        await http.get("/api/v1/repositories/r/changes", params={"after": -1}),
        await http.patch("/api/v1/tasks/x", json={}, headers={"If-Match": "abc"}),
        await http.post("/api/v1/tasks", json={"repository": "r", "content": "x"}, headers={"Idempotency-Key": "k" * 201}),
    ]
    for response in cases:
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json()["message"]


async def test_a_request_with_several_faults_is_refused_for_the_first_one_checked(
        http: httpx.AsyncClient) -> None:
    """The body and If-Match are checked before the Idempotency-Key."""
    bad_key = {"Idempotency-Key": "k" * 201}
    body_and_key = await http.post("/api/v1/tasks", json={}, headers=bad_key)
    json_and_key = await http.post("/api/v1/tasks", content=b"{not json", headers=bad_key)
    match_and_key = await http.delete("/api/v1/tasks/x", headers={**bad_key, "If-Match": "v"})
    assert (body_and_key.status_code, body_and_key.json()["error"]) == (422, "validation_error")
    assert json_and_key.json()["error"] == "bad_json"
    assert match_and_key.json()["field"] == "If-Match"


async def test_unknown_route_and_method_get_json_errors(http: httpx.AsyncClient) -> None:
    missing = await http.get("/api/v1/nothing")
    wrong = await http.put("/api/v1/tasks")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


async def test_health_metrics_and_openapi(http: httpx.AsyncClient) -> None:
    health = (await http.get("/health")).json()
    assert {key: health.pop(key) for key in ("status", "storage")} == {"status": "ok",
                                                                     "storage": "ok"}
    stamped = parse_rfc3339(health.pop("time"))
    assert stamped is not None and abs(stamped.timestamp() - time.time()) < 5, stamped
    assert health == {}
    await create(http)
    metrics = (await http.get("/metrics")).text
    assert 'tasksync_http_requests_total{method="POST",route="/api/v1/tasks",status="201"} 1.0' in metrics
    document = (await http.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert {"/api/v1/tasks", "/api/v1/sync/batch", "/api/v1/admin/faults"} <= set(document["paths"])
    assert "Task" in document["components"]["schemas"]
