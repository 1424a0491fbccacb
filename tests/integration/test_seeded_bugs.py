"""Every seeded bug against the real server, client and replica: the defect its summary
describes when switched on, the protocol's behaviour when off (tasksync.bugs).

Each test is parametrized by `on`; the assertion that differs is the defect itself.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tasksync import bugs
from tasksync.client import (
    Attempt,
    HTTPClient,
    RetriesExhausted,
    RetryPolicy,
    WebSocketClient,
)
from tasksync.replica import Replica, ServerUnreachable
from tasksync.server.middleware.circuit_breaker import BreakerConfig
from tasksync.server.middleware.rate_limit import RateLimitConfig
from tests.support.proxies import AnswerDroppingProxy
from tests.support.servers import ServerProcess, ServerThread
from tests.support.wait import wait_until_async

DEADLINE = 10.0
ON_OFF = pytest.mark.parametrize("on", [False, True], ids=["off", "on"])
StartServer = Callable[..., ServerThread]
Json = dict[str, Any]


@pytest.fixture(autouse=True)
def no_switches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No client or replica bug is on unless a test switches it on."""
    # set, then removed: monkeypatch then restores the variable, whoever set it since
    monkeypatch.setenv(bugs.ENV_VAR, "")
    monkeypatch.delenv(bugs.ENV_VAR)
    bugs.refresh()
    yield
    bugs.refresh()


def with_bug(start_server: StartServer, name: str, on: bool, **overrides: Any) -> ServerThread:
    """A server with the server bug `name` on or off."""
    return start_server(seeded_bugs=frozenset({name} if on else ()), **overrides)


def switched(name: str, on: bool) -> Any:
    """The client or replica bug `name` on (or nothing) for the `with` block."""
    return bugs.enabled([name]) if on else nullcontext()


@asynccontextmanager
async def http(server: ServerThread, client_id: str = "alice") -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", timeout=DEADLINE,
                                 headers={"X-Client-ID": client_id}) as client:
        yield client


async def create(client: httpx.AsyncClient, repository: str, content: str,
                 **headers: str) -> Json:
    response = await client.post("/tasks", json={"repository": repository, "content": content},
                                 headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def receive(ws: ClientConnection) -> Json:
    """The next frame that is not a heartbeat."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))
        if message["type"] != "ping":
            return message


async def frames_until(ws: ClientConnection, done: Callable[[Json], bool]) -> list[Json]:
    frames = [await receive(ws)]
    while not done(frames[-1]):
        frames.append(await receive(ws))
    return frames


def event_seqs(frames: list[Json]) -> list[int]:
    return [frame["event"]["seq"] for frame in frames if frame["type"] == "event"]


# -- server: retry timing and key reuse ----------------------------------------------------

@ON_OFF
async def test_error_after_commit_answers_500_for_a_write_it_applied(
        start_server: StartServer, on: bool) -> None:
    server = with_bug(start_server, "error_after_commit", on)
    async with http(server) as client:
        statuses = []
        for n in range(9):
            response = await client.post("/tasks", json={"repository": "r", "content": f"t{n}"},
                                         headers={"Idempotency-Key": f"k{n}"})
            statuses.append(response.status_code)
        assert statuses == [201] * 8 + [500 if on else 201]
        # the ninth was applied all the same: the retry with its key gets the stored reply
        again = await client.post("/tasks", json={"repository": "r", "content": "t8"},
                                  headers={"Idempotency-Key": "k8"})
        assert again.status_code == 201 and again.json()["content"] == "t8"
        listed = (await client.get("/tasks", params={"repository": "r"})).json()["tasks"]
    assert [task["content"] for task in listed] == [f"t{n}" for n in range(9)]


@ON_OFF
async def test_ack_before_commit_loses_an_acknowledged_write_in_a_crash(
        server_process: Callable[..., ServerProcess], on: bool) -> None:
    flags = ("--seeded-bug", "ack_before_commit") if on else ()
    process = server_process("--rate-limit", "0", *flags)
    async with httpx.AsyncClient(base_url=f"{process.base_url}/api/v1", timeout=10) as client:
        answered = await client.post("/tasks", json={"repository": "r", "content": "told done"})
        assert answered.status_code == 201
        # SIGKILL at once: well inside the bug's 200 ms between answer and COMMIT
        await asyncio.to_thread(process.kill)
    restarted = server_process("--rate-limit", "0", db_path=process.db_path)
    async with httpx.AsyncClient(base_url=f"{restarted.base_url}/api/v1", timeout=10) as client:
        listed = (await client.get("/tasks", params={"repository": "r"})).json()["tasks"]
    assert [task["content"] for task in listed] == ([] if on else ["told done"])


@ON_OFF
async def test_status_checked_after_write_refuses_a_create_it_applied(
        start_server: StartServer, on: bool) -> None:
    server = with_bug(start_server, "status_checked_after_write", on)
    async with http(server) as client:
        refused = await client.post("/tasks", json={"repository": "r", "content": "k1 x",
                                                     "status": "sleeping"})
        assert refused.status_code == 422 and refused.json()["field"] == "$.status"
        listed = (await client.get("/tasks", params={"repository": "r"})).json()["tasks"]
    assert [task["content"] for task in listed] == (["k1 x"] if on else [])


# -- server: resume and replay ------------------------------------------------------------

@ON_OFF
async def test_resume_off_by_one_skips_the_first_missed_event(start_server: StartServer,
                                                              on: bool) -> None:
    server = with_bug(start_server, "resume_off_by_one", on)
    async with http(server) as client:
        for n in range(4):
            await create(client, "r", f"t{n}")
    async with connect(server.ws_url, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "repositories": {"r": 1}}))
        frames = await frames_until(ws, lambda f: f.get("event", {}).get("seq") == 4)
    assert event_seqs(frames) == ([3, 4] if on else [2, 3, 4])


@ON_OFF
async def test_replay_live_race_loses_events_committed_while_subscribing(
        start_server: StartServer, on: bool) -> None:
    server = with_bug(start_server, "replay_live_race", on)
    hub = server.app.state.hub
    async with http(server) as client, connect(server.ws_url, ping_interval=None) as ws:
        # Every storage call now takes 0.3 s: the replay's read is still running when the
        # write below is queued behind it, so the write commits inside the subscribe.
        response = await client.post("/admin/faults", json={"storage_delay_ms": 300})
        assert response.status_code == 200, response.text
        await ws.send(json.dumps({"type": "subscribe", "repositories": {"r": 0}}))
        await wait_until_async(lambda: "r" in hub._by_repository, message="subscriber registered")
        await create(client, "r", "committed while subscribing")  # seq 1
        await client.delete("/admin/faults")
        await create(client, "r", "afterwards")  # seq 2, live either way
        frames = await frames_until(ws, lambda f: f.get("event", {}).get("seq") == 2)
    assert event_seqs(frames) == ([2] if on else [1, 2])


# -- server: cursors, paging and pruning ----------------------------------------------------

@ON_OFF
async def test_page_token_skip_never_lists_a_task_at_a_page_boundary(start_server: StartServer,
                                                                     on: bool) -> None:
    server = with_bug(start_server, "page_token_skip", on)
    async with http(server) as client:
        created = [(await create(client, "r", f"t{n}"))["id"] for n in range(5)]
        listed: list[str] = []
        token: str | None = "0"
        while token is not None:
            page = (await client.get("/tasks", params={"repository": "r", "limit": 2,
                                                       "page_token": token})).json()
            listed += [task["id"] for task in page["tasks"]]
            token = page["next"]
    assert listed == ([*created[:2], *created[3:]] if on else created)


@ON_OFF
async def test_prune_without_resync_hides_the_gap(start_server: StartServer, on: bool) -> None:
    server = with_bug(start_server, "prune_without_resync", on, log_retention=2)
    async with http(server) as client:
        for n in range(5):
            await create(client, "r", f"t{n}")  # seqs 1-5; the log keeps 4 and 5
        page = (await client.get("/repositories/r/changes", params={"after": 1})).json()
    assert [event["seq"] for event in page["events"]] == [4, 5]
    assert page["earliest_seq"] == (2 if on else 4)  # off: earliest > after + 1 shows the gap
    async with connect(server.ws_url, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "repositories": {"r": 1}}))
        frames = await frames_until(ws, lambda f: f["type"] == "resync_required"
                                    or f.get("event", {}).get("seq") == 5)
    types = [frame["type"] for frame in frames]
    assert types == (["subscribed", "event", "event"] if on else
                     ["subscribed", "resync_required"])


# -- server: idempotency scope and conditional writes ---------------------------------------

@ON_OFF
async def test_idempotency_key_scope_gives_one_client_another_clients_reply(
        start_server: StartServer, on: bool) -> None:
    server = with_bug(start_server, "idempotency_key_scope", on)
    async with http(server, "alice") as alice, http(server, "bob") as bob:
        first = await create(alice, "r", "alice's task", **{"Idempotency-Key": "k-1"})
        response = await bob.post("/tasks", json={"repository": "r", "content": "bob's task"},
                                  headers={"Idempotency-Key": "k-1"})
        listed = (await bob.get("/tasks", params={"repository": "r"})).json()["tasks"]
    reply = response.json()
    if on:
        assert reply == first and response.headers["Idempotent-Replayed"] == "true"
        assert [task["content"] for task in listed] == ["alice's task"]  # bob's write is lost
    else:
        assert response.status_code == 201
        assert (reply["content"], reply["origin"]) == ("bob's task", "bob")
        assert len(listed) == 2


@ON_OFF
async def test_if_match_ignored_on_delete_applies_a_stale_delete(start_server: StartServer,
                                                                 on: bool) -> None:
    server = with_bug(start_server, "if_match_ignored_on_delete", on)
    async with http(server) as client:
        task = await create(client, "r", "v1")
        await client.patch(f"/tasks/{task['id']}", json={"content": "v2"})
        response = await client.delete(f"/tasks/{task['id']}", headers={"If-Match": "1"})
        stale_update = await client.patch(f"/tasks/{task['id']}", json={"content": "v3"},
                                          headers={"If-Match": "1"})
    assert stale_update.status_code in (404, 412)  # updates keep their check either way
    if on:
        assert response.status_code == 200 and response.json()["deleted"]
    else:
        assert response.status_code == 412
        assert response.json()["current"]["version"] == 2


@ON_OFF
async def test_recreate_resets_version_revives_a_tombstone_at_version_one(
        start_server: StartServer, on: bool) -> None:
    server = with_bug(start_server, "recreate_resets_version", on)
    body = {"id": "t-1", "repository": "r", "content": "first"}
    async with http(server) as client:
        assert (await client.post("/tasks", json=body)).status_code == 201
        await client.patch("/tasks/t-1", json={"content": "second"})
        deleted = (await client.delete("/tasks/t-1")).json()
        again = await client.post("/tasks", json={**body, "content": "again"})
        log = (await client.get("/repositories/r/changes")).json()["events"]
    assert deleted["version"] == 3 and deleted["deleted"]
    if on:
        assert again.status_code == 201
        assert (again.json()["version"], again.json()["deleted"]) == (1, False)
        assert [(e["type"], e["version"]) for e in log][-1] == ("task_created", 1)
    else:
        assert again.status_code == 409 and again.json()["error"] == "id_conflict"
        assert again.json()["current"]["version"] == 3
        assert len(log) == 3


# -- server: reads and caching -----------------------------------------------------------------

@ON_OFF
async def test_stale_read_cache_serves_a_read_the_write_did_not_invalidate(
        start_server: StartServer, on: bool) -> None:
    server = with_bug(start_server, "stale_read_cache", on)
    async with http(server) as client:
        task = await create(client, "r", "before")
        assert (await client.get(f"/tasks/{task['id']}")).json()["content"] == "before"
        written = await client.patch(f"/tasks/{task['id']}", json={"content": "after"})
        assert written.json()["version"] == 2
        read = (await client.get(f"/tasks/{task['id']}")).json()
    assert (read["content"], read["version"]) == (("before", 1) if on else ("after", 2))


# -- server: conflict rules and tie-breaks ---------------------------------------------------

async def _conflicting_push(server: ServerThread, strategy: str, base: Json, client_side: Json,
                            server_patch: Json, updated_at: str | None = None) -> Json:
    """Alice creates a task, Bob changes it, Alice pushes an edit based on version 1."""
    async with http(server, "alice") as alice, http(server, "bob") as bob:
        task = await create(alice, "r", base["content"])
        changed = (await bob.patch(f"/tasks/{task['id']}", json=server_patch)).json()
        item = {"change_id": "alice:1", "task_id": task["id"], "base_version": 1,
                "task": client_side, "base": base,
                "updated_at": updated_at or changed["updated_at"]}
        response = await alice.post("/sync/batch", json={
            "repository": "r", "client_id": "alice", "strategy": strategy, "items": [item]})
    assert response.status_code == 200, response.text
    return response.json()


@ON_OFF
async def test_lww_tie_client_gives_equal_timestamps_to_the_client(start_server: StartServer,
                                                                   on: bool) -> None:
    server = with_bug(start_server, "lww_tie_client", on)
    base = {"content": "base", "status": "pending", "priority": "medium", "deleted": False}
    # Alice's clock reads exactly the server's updated_at of Bob's change: a tie.
    reply = await _conflicting_push(server, "last_write_wins", base,
                                    {**base, "content": "alice"}, {"content": "bob"})
    (conflict,) = reply["conflicts"]
    assert conflict["client_updated_at"] == conflict["server"]["updated_at"]
    assert conflict["winner"] == ("client" if on else "server")
    assert reply["results"][0]["task"]["content"] == ("alice" if on else "bob")


@ON_OFF
async def test_merge_drops_field_loses_the_clients_only_change(start_server: StartServer,
                                                               on: bool) -> None:
    server = with_bug(start_server, "merge_drops_field", on)
    base = {"content": "base", "status": "pending", "priority": "medium", "deleted": False}
    reply = await _conflicting_push(server, "merge", base, {**base, "priority": "high"},
                                    {"status": "completed"})
    (conflict,) = reply["conflicts"]
    merged = reply["results"][0]["task"]
    assert conflict["winner"] == "merged" and merged["status"] == "completed"
    assert merged["priority"] == ("medium" if on else "high")


# -- server: breaker transitions -------------------------------------------------------------

@ON_OFF
async def test_breaker_skips_half_open_closes_without_a_probe(start_server: StartServer,
                                                              on: bool) -> None:
    breaker = BreakerConfig(window_size=2, failure_threshold=2, open_seconds=0.2,
                            half_open_max_calls=1)
    server = with_bug(start_server, "breaker_skips_half_open", on, breaker=breaker)
    async with http(server) as client:
        await client.post("/admin/faults", json={"storage_error_rate": 1.0})
        for _ in range(2):
            assert (await client.get("/tasks/nothing")).status_code == 503
        await client.delete("/admin/faults")

        async def served() -> bool:
            return (await client.get("/tasks/nothing")).status_code == 404

        await wait_until_async(served, message="the breaker admits calls again")
        transitions = (await client.get("/admin/breaker")).json()["transitions"]
    steps = [(t["from"], t["to"]) for t in transitions]
    assert steps == ([("closed", "open"), ("open", "closed")] if on else
                     [("closed", "open"), ("open", "half_open"), ("half_open", "closed")])


# -- client: retry timing and key reuse --------------------------------------------------------

@ON_OFF
async def test_retry_new_idempotency_key_duplicates_a_write_whose_answer_was_lost(
        server: ServerThread, on: bool) -> None:
    proxy = AnswerDroppingProxy(server.port, drops=1)
    listener = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    attempts: list[Attempt] = []
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02, deadline=DEADLINE)
    try:
        with switched("retry_new_idempotency_key", on):
            async with HTTPClient(proxy.url, client_id="alice", retry=policy,
                                  observer=attempts.append) as client:
                await client.create_task("r", "once")
    finally:
        listener.close()
        await listener.wait_closed()
    async with HTTPClient(server.base_url) as direct:
        tasks = [task async for task in direct.iter_tasks("r")]
    keys = [attempt.idempotency_key for attempt in attempts if attempt.operation == "create_task"]
    assert len(keys) == 2  # the first answer was lost, the retry got one
    assert (keys[0] != keys[1]) is on
    assert [task.content for task in tasks] == (["once", "once"] if on else ["once"])


@ON_OFF
async def test_retry_after_ignored_retries_before_the_servers_delay(start_server: StartServer,
                                                                    on: bool) -> None:
    server = start_server(rate_limit=RateLimitConfig(rate=1.0, burst=1.0))
    attempts: list[Attempt] = []
    # Retry-After is 1 s here; the policy caps what it honours at 0.3 s to keep this quick.
    policy = RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002,
                         max_retry_after=0.3, deadline=DEADLINE)
    with switched("retry_after_ignored", on):
        async with HTTPClient(server.base_url, client_id="alice", retry=policy,
                              observer=attempts.append) as client:
            await client.noop()  # takes the only token
            with pytest.raises(RetriesExhausted):
                await client.noop()
    first, second = attempts[1], attempts[2]
    assert first.status_code == 429 and first.retry_after is not None and first.retry_after >= 1
    gap = second.started_monotonic - first.ended_monotonic
    assert (gap < 0.3) is on, f"waited {gap:.3f} s"


# -- client: change feed ----------------------------------------------------------------------

@ON_OFF
async def test_ws_dedupe_by_task_drops_a_second_event_of_the_same_task(server: ServerThread,
                                                                      on: bool) -> None:
    async with http(server) as client:
        task = await create(client, "r", "first")
        await client.patch(f"/tasks/{task['id']}", json={"content": "edited"})
        await create(client, "r", "second")
    with switched("ws_dedupe_by_task", on):
        async with WebSocketClient(server.ws_url, {"r": 0}) as feed:
            seqs: list[int] = []
            async for received in feed.events():
                seqs.append(received.event.seq)
                if received.event.seq == 3:
                    break
            dropped = feed.stats.duplicates_dropped
    assert seqs == ([1, 3] if on else [1, 2, 3])
    assert dropped == (1 if on else 0)


# -- replica: outbox handling, cursors and pruning ---------------------------------------------

def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ONE_TRY = {"retry": RetryPolicy(max_attempts=1, deadline=DEADLINE)}


@ON_OFF
async def test_outbox_clear_before_reply_loses_a_push_that_failed(server: ServerThread,
                                                                  tmp_path: Path,
                                                                  on: bool) -> None:
    path = tmp_path / "replica.db"
    with switched("outbox_clear_before_reply", on):
        async with Replica(path, f"http://127.0.0.1:{_closed_port()}", client_id="alice",
                           repository="r", client_options=ONE_TRY) as offline:
            task = offline.add("written offline")
            with pytest.raises(ServerUnreachable):
                await offline.sync()
            assert offline.pending_count() == (0 if on else 1)
        async with Replica(path, server.base_url, repository="r",
                           client_options=ONE_TRY) as online:
            await online.sync()
    async with http(server) as client:
        listed = (await client.get("/tasks", params={"repository": "r"})).json()["tasks"]
    assert [t["id"] for t in listed] == ([] if on else [task.id])


@ON_OFF
async def test_cursor_ignores_has_more_skips_the_rest_of_a_truncated_pull(
        server: ServerThread, tmp_path: Path, on: bool) -> None:
    async with http(server, "bob") as client:
        created = [(await create(client, "r", f"t{n}"))["id"] for n in range(5)]
    with switched("cursor_ignores_has_more", on):
        async with Replica(tmp_path / "replica.db", server.base_url, client_id="alice",
                           repository="r", pull_limit=2, client_options=ONE_TRY) as replica:
            await replica.sync()
            await replica.sync()  # a later sync does not bring them either
            held = sorted(replica.tasks())
            cursor = replica.cursor()
    assert cursor == 5
    assert held == sorted(created[:2] if on else created)


@ON_OFF
async def test_resync_keeps_deleted_leaves_a_deleted_task_live(start_server: StartServer,
                                                               tmp_path: Path, on: bool) -> None:
    server = start_server(log_retention=2)
    with switched("resync_keeps_deleted", on):
        async with http(server, "bob") as client, Replica(
                tmp_path / "replica.db", server.base_url, client_id="alice", repository="r",
                client_options=ONE_TRY) as replica:
            task = await create(client, "r", "soon deleted")  # seq 1
            await replica.sync()
            await client.delete(f"/tasks/{task['id']}")  # seq 2, pruned by the next two
            for n in range(3):
                await create(client, "r", f"t{n}")  # seqs 3-5: the log keeps 4 and 5
            report = await replica.sync()
            local = replica.get(task["id"])
    assert report.resynced
    assert local.deleted is (not on)
