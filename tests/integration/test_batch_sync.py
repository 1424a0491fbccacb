"""POST /api/v1/sync/batch: outcomes, conflicts per strategy, exactly-once changes, pulls."""

from __future__ import annotations

import httpx
import pytest

from tests.support.servers import ServerThread


@pytest.fixture
async def http(server: ServerThread):
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        yield client


def item(change_id: str, task_id: str, content: str, base_version: int = 0, **extra: object) -> dict:
    fields = {"content": content, **{k: extra.pop(k) for k in ("status", "priority", "deleted") if k in extra}}
    return {"change_id": change_id, "task_id": task_id, "task": fields, "base_version": base_version, **extra}


async def sync(http: httpx.AsyncClient, client_id: str, items: list[dict], strategy: str = "server_wins",
               cursor: int = 0, **headers: str) -> dict:
    response = await http.post("/api/v1/sync/batch", json={
        "repository": "r", "client_id": client_id, "items": items, "strategy": strategy, "cursor": cursor,
    }, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def two_clients_edit(http: httpx.AsyncClient, strategy: str, a_fields: dict, b_fields: dict,
                           b_updated_at: str = "") -> dict:
    """A creates t at v1 and edits it to v2; B, still at v1, pushes its own edit."""
    await sync(http, "A", [item("A:1", "t", "base")])
    await sync(http, "A", [item("A:2", "t", base_version=1, **{"content": "base", **a_fields})])
    b = item("B:1", "t", base_version=1, updated_at=b_updated_at, **{"content": "base", **b_fields})
    return await sync(http, "B", [b], strategy=strategy)


async def test_new_items_are_created_and_pulled_back(http: httpx.AsyncClient) -> None:
    reply = await sync(http, "A", [item("A:1", "t1", "one"), item("A:2", "t2", "two")])
    assert [r["outcome"] for r in reply["results"]] == ["created", "created"]
    assert [e["seq"] for e in reply["changes"]] == [1, 2] and reply["cursor"] == 2
    assert reply["conflicts"] == []


async def test_a_client_never_conflicts_with_its_own_earlier_writes(http: httpx.AsyncClient) -> None:
    await sync(http, "A", [item("A:1", "t", "v1")])
    reply = await sync(http, "A", [item("A:2", "t", "v2"), item("A:3", "t", "v3", status="completed")])
    assert [r["outcome"] for r in reply["results"]] == ["updated", "updated"]
    assert reply["results"][-1]["task"]["version"] == 3 and reply["conflicts"] == []


async def test_equal_values_are_unchanged_not_a_conflict(http: httpx.AsyncClient) -> None:
    await sync(http, "A", [item("A:1", "t", "same")])
    reply = await sync(http, "B", [item("B:1", "t", "same")])
    assert reply["results"][0]["outcome"] == "unchanged" and reply["conflicts"] == []


async def test_server_wins_is_the_default_and_preserves_both_sides(http: httpx.AsyncClient) -> None:
    reply = await two_clients_edit(http, "server_wins", {"content": "A's"}, {"content": "B's"})
    [conflict] = reply["conflicts"]
    assert reply["results"][0]["outcome"] == "conflict"
    assert conflict["winner"] == "server" and conflict["strategy"] == "server_wins"
    assert conflict["server"]["content"] == "A's" and conflict["client"]["content"] == "B's"
    assert conflict["resolved"]["content"] == "A's" and conflict["resolved"]["version"] == 2


async def test_client_wins_applies_the_client_side(http: httpx.AsyncClient) -> None:
    reply = await two_clients_edit(http, "client_wins", {"content": "A's"}, {"content": "B's"})
    assert reply["conflicts"][0]["winner"] == "client"
    assert reply["results"][0]["task"]["content"] == "B's" and reply["results"][0]["task"]["version"] == 3


@pytest.mark.parametrize("client_time, winner, content", [
    ("2999-01-01T00:00:00Z", "client", "B's"),
    ("2000-01-01T00:00:00Z", "server", "A's"),
])
async def test_last_write_wins_compares_client_clock(http: httpx.AsyncClient, client_time: str,
                                                     winner: str, content: str) -> None:
    reply = await two_clients_edit(http, "last_write_wins", {"content": "A's"}, {"content": "B's"},
                                   b_updated_at=client_time)
    assert reply["conflicts"][0]["winner"] == winner
    assert reply["results"][0]["task"]["content"] == content


async def test_merge_combines_fields_using_the_logged_base(http: httpx.AsyncClient) -> None:
    reply = await two_clients_edit(http, "merge", {"content": "A's"}, {"status": "completed"})
    [conflict] = reply["conflicts"]
    task = reply["results"][0]["task"]
    assert conflict["winner"] == "merged" and conflict["fields"] == []
    assert (task["content"], task["status"]) == ("A's", "completed")
    assert conflict["base"]["content"] == "base"  # the log's snapshot at version 1


async def test_merge_without_any_base_keeps_the_server_side_and_says_so(
        http: httpx.AsyncClient) -> None:
    await sync(http, "A", [item("A:1", "t", "A's")])
    reply = await sync(http, "B", [item("B:1", "t", "B's")], strategy="merge")  # built on nothing
    [conflict] = reply["conflicts"]
    assert (conflict["winner"], conflict["base"]) == ("server", None)
    assert reply["results"][0]["task"]["content"] == "A's"


async def test_merge_reports_fields_both_sides_changed(http: httpx.AsyncClient) -> None:
    reply = await two_clients_edit(http, "merge", {"content": "A's"}, {"content": "B's"})
    assert reply["conflicts"][0]["fields"] == ["content"]
    assert reply["results"][0]["task"]["content"] == "A's"


async def test_manual_keeps_server_until_the_client_resolves(http: httpx.AsyncClient) -> None:
    reply = await two_clients_edit(http, "manual", {"content": "A's"}, {"content": "B's"})
    assert reply["conflicts"][0]["winner"] == "none"
    assert reply["results"][0]["task"]["content"] == "A's"
    resolved = await sync(http, "B", [item("B:2", "t", "B's", base_version=2)], strategy="manual")
    assert resolved["results"][0]["outcome"] == "updated" and resolved["conflicts"] == []


async def test_edit_against_a_delete_is_a_conflict(http: httpx.AsyncClient) -> None:
    reply = await two_clients_edit(http, "server_wins", {"deleted": True}, {"content": "B's"})
    assert reply["conflicts"][0]["server"]["deleted"] is True
    assert reply["results"][0]["task"]["deleted"] is True


async def test_delete_against_a_delete_is_unchanged(http: httpx.AsyncClient) -> None:
    reply = await two_clients_edit(http, "server_wins", {"deleted": True}, {"deleted": True})
    assert reply["results"][0]["outcome"] == "unchanged" and reply["conflicts"] == []


async def test_concurrent_create_with_the_same_id_conflicts(http: httpx.AsyncClient) -> None:
    await sync(http, "A", [item("A:1", "shared", "A's")])
    reply = await sync(http, "B", [item("B:1", "shared", "B's")])
    assert reply["conflicts"][0]["base_version"] == 0 and reply["conflicts"][0]["winner"] == "server"


async def test_each_change_applies_once_even_when_regrouped(http: httpx.AsyncClient) -> None:
    batch = [item("A:1", "t1", "one"), item("A:2", "t2", "two")]
    first = await sync(http, "A", batch[:1])
    regrouped = await sync(http, "A", batch + [item("A:3", "t3", "three")])
    assert first["results"][0]["outcome"] == "created"
    assert [(r["outcome"], r["replayed"]) for r in regrouped["results"]] == [
        ("created", True), ("created", False), ("created", False)]
    log = (await http.get("/api/v1/repositories/r/changes")).json()
    assert log["last_seq"] == 3


async def test_a_replayed_conflict_is_not_reported_again(http: httpx.AsyncClient) -> None:
    conflicted = await two_clients_edit(http, "server_wins", {"content": "A's"}, {"content": "B's"})
    again = await sync(http, "B", [item("B:1", "t", "B's", base_version=1)])
    assert len(conflicted["conflicts"]) == 1
    assert again["conflicts"] == [] and again["results"][0]["replayed"]
    recorded = (await http.get("/api/v1/repositories/r/conflicts")).json()["conflicts"]
    assert len(recorded) == 1


async def test_idempotency_key_replays_the_whole_batch(http: httpx.AsyncClient) -> None:
    batch = [item("A:1", "t1", "one")]
    first = await sync(http, "A", batch, **{"Idempotency-Key": "batch-1"})
    retry = await sync(http, "A", batch, **{"Idempotency-Key": "batch-1"})
    assert retry == first and retry["results"][0]["replayed"] is False


async def test_pull_returns_changes_after_the_cursor_in_pages(http: httpx.AsyncClient) -> None:
    await sync(http, "A", [item(f"A:{i}", f"t{i}", "x") for i in range(5)])
    response = await http.post("/api/v1/sync/batch", json={
        "repository": "r", "client_id": "B", "cursor": 1, "pull_limit": 2})
    page = response.json()
    assert [e["seq"] for e in page["changes"]] == [2, 3] and page["cursor"] == 3 and page["has_more"]


async def test_ten_thousand_items_in_one_request(http: httpx.AsyncClient) -> None:
    items = [item(f"A:{i}", f"task-{i}", f"content {i}") for i in range(10_000)]
    reply = await sync(http, "A", items)
    assert len(reply["results"]) == 10_000
    assert {r["outcome"] for r in reply["results"]} == {"created"}
    assert reply["cursor"] == 10_000


async def test_bad_batches_are_refused_with_the_field(http: httpx.AsyncClient) -> None:
    bad_strategy = await http.post("/api/v1/sync/batch", json={"repository": "r", "client_id": "A", "strategy": "coin_flip"})
    bad_item = await http.post("/api/v1/sync/batch", json={"repository": "r", "client_id": "A", "items": [{"change_id": "x"}]})
    assert bad_strategy.status_code == 422 and bad_strategy.json()["field"] == "$.strategy"
    assert bad_item.status_code == 422 and bad_item.json()["field"].startswith("$.items[0]")


async def test_an_item_of_another_repository_is_rejected(http: httpx.AsyncClient) -> None:
    await sync(http, "A", [item("A:1", "t", "x")])
    response = await http.post("/api/v1/sync/batch", json={
        "repository": "elsewhere", "client_id": "B", "items": [item("B:1", "t", "y")]})
    result = response.json()["results"][0]
    assert result["outcome"] == "rejected" and result["task"] is None  # not A's task
    assert "another repository" in result["reason"]


async def push(http: httpx.AsyncClient, repository: str, client_id: str, items: list[dict]) -> dict:
    response = await http.post("/api/v1/sync/batch", json={
        "repository": repository, "client_id": client_id, "items": items})
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


async def test_a_change_id_is_one_clients_own_in_one_repository(http: httpx.AsyncClient) -> None:
    """Regression: Y's change "1" once replayed X's (another repository's task in Y's reply,
    Y's task never created)."""
    first = await push(http, "X", "client-x", [item("1", "task-x", "X's task")])
    other_repository = await push(http, "Y", "client-y", [item("1", "task-y", "Y's task")])
    same_repository = await push(http, "X", "client-z", [item("1", "task-z", "Z's task")])

    assert first["outcome"] == "created"
    for result, (task_id, repository) in ((other_repository, ("task-y", "Y")),
                                          (same_repository, ("task-z", "X"))):
        assert result["outcome"] == "created" and not result["replayed"]
        assert (result["task"]["id"], result["task"]["repository"]) == (task_id, repository)
        stored = await http.get(f"/api/v1/tasks/{task_id}")
        assert stored.status_code == 200 and stored.json()["repository"] == repository


async def test_a_retried_change_replays_and_a_reused_id_is_refused(http: httpx.AsyncClient) -> None:
    change = item("c-1", "t-1", "first")
    assert (await push(http, "r", "A", [change]))["outcome"] == "created"
    retried = await push(http, "r", "A", [change])
    assert retried["replayed"] and retried["task"]["id"] == "t-1"

    reused = await push(http, "r", "A", [item("c-1", "t-2", "another task")])
    assert reused["outcome"] == "rejected" and reused["task"] is None
    assert "already used" in reused["reason"] and "own id" in reused["reason"]
    assert (await http.get("/api/v1/tasks/t-2")).status_code == 404
    edited = await push(http, "r", "A", [item("c-1", "t-1", "an edit under the same id",
                                               base_version=1)])
    assert edited["outcome"] == "rejected"
    assert (await http.get("/api/v1/tasks/t-1")).json()["content"] == "first"


@pytest.mark.parametrize("updated_at", ["yesterday", "2024-13-01T00:00:00Z",
                                        "2024-02-30T10:00:00Z", "2024-01-01T10:00:00"])
async def test_an_unparseable_updated_at_is_refused_naming_the_field(
        http: httpx.AsyncClient, updated_at: str) -> None:
    response = await http.post("/api/v1/sync/batch", json={
        "repository": "r", "client_id": "A",
        "items": [item("A:1", "t", "x"), item("A:2", "u", "y", updated_at=updated_at)]})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "$.items[1].updated_at"
    assert (await http.get("/api/v1/tasks/t")).status_code == 404  # nothing of the batch


async def test_rfc3339_times_with_a_zone_are_accepted(http: httpx.AsyncClient) -> None:
    for index, updated_at in enumerate(["2024-01-01T10:00:00Z", "2024-01-01T10:00:00.123456Z",
                                        "2024-01-01 10:00:00+02:00", ""]):
        result = await push(http, "r", "A", [item(f"A:{index}", f"t{index}", "x",
                                                   updated_at=updated_at)])
        assert result["outcome"] == "created"


async def test_queued_edits_of_one_task_build_on_each_other_under_merge(http: httpx.AsyncClient) -> None:
    """B edits offline twice (both items carry base_version 1, and as base what each edit
    started from) while A also edited: B's second edit is replayed onto the merge of its
    first, so A's text stays and B's latest status wins over B's own earlier one."""
    await sync(http, "A", [item("A:1", "t", "base")])
    await sync(http, "A", [item("A:2", "t", "A's text", base_version=1)])
    reply = await sync(http, "B", [
        item("B:1", "t", "base", base_version=1, status="in_progress", base={"content": "base"}),
        item("B:2", "t", "base", base_version=1, status="cancelled",
             base={"content": "base", "status": "in_progress"}),
    ], strategy="merge")
    final = reply["results"][-1]["task"]
    assert (final["content"], final["status"]) == ("A's text", "cancelled")
    assert [r["outcome"] for r in reply["results"]] == ["conflict", "updated"]
    assert len(reply["conflicts"]) == 1, "B's second edit does not conflict with B's first"


async def test_a_clients_own_write_does_not_hide_a_later_foreign_one(http: httpx.AsyncClient) -> None:
    await sync(http, "A", [item("A:1", "t", "v1")])
    await sync(http, "B", [item("B:1", "t", "B's", base_version=1)])
    await sync(http, "C", [item("C:1", "t", "C's", base_version=2)])
    reply = await sync(http, "B", [item("B:2", "t", "B's again", base_version=1)])
    assert reply["results"][0]["outcome"] == "conflict"
    assert reply["conflicts"][0]["server"]["content"] == "C's"
