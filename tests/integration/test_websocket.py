"""The WebSocket /ws lifecycle against a real server: subscribe, replay, live events,
resync, heartbeats, bad messages and shutdown, spoken by a raw `websockets` client."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tasksync.server.websocket import (
    CLOSE_HEARTBEAT_TIMEOUT,
    CLOSE_POLICY,
    MAX_BAD_MESSAGES,
    WebSocketConfig,
)
from tests.support.servers import ServerProcess, ServerThread

DEADLINE = 10.0  # seconds any single expected frame or close may take
Message = dict[str, Any]


@asynccontextmanager
async def ws_client(url: str) -> AsyncIterator[ClientConnection]:
    """A raw client that sends nothing on its own (no protocol pings)."""
    async with connect(url, ping_interval=None, open_timeout=DEADLINE) as ws:
        yield ws


@asynccontextmanager
async def http_client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=DEADLINE,
                                 headers={"X-Client-ID": "ws-tests"}) as client:
        yield client


async def create_task(client: httpx.AsyncClient, repository: str, content: str) -> Message:
    response = await client.post("/api/v1/tasks", json={"repository": repository,
                                                        "content": content})
    assert response.status_code == 201, response.text
    return response.json()


async def send(ws: ClientConnection, message: Message) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection, skip_pings: bool = True) -> Message:
    """The next frame (server heartbeats skipped unless asked for), within DEADLINE."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))
        if not (skip_pings and message["type"] == "ping"):
            return message


async def receive_until(ws: ClientConnection, done: Callable[[Message], bool]) -> list[Message]:
    """Every frame up to and including the first one `done` accepts."""
    received: list[Message] = []
    while True:
        received.append(await receive(ws))
        if done(received[-1]):
            return received


async def subscribe(ws: ClientConnection, repositories: dict[str, int]) -> Message:
    """Subscribe and return the `subscribed` frame (one per repository, merged)."""
    await send(ws, {"type": "subscribe", "repositories": repositories})
    last_seqs: dict[str, int] = {}
    while len(last_seqs) < len(repositories):
        message = await receive(ws)
        assert message["type"] == "subscribed", message
        last_seqs.update(message["repositories"])
    return {"type": "subscribed", "repositories": last_seqs}


def events(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m["type"] == "event"]


def is_event(repository: str, seq: int) -> Callable[[Message], bool]:
    return lambda m: (m["type"] == "event" and m["event"]["repository"] == repository
                      and m["event"]["seq"] == seq)


async def closed_with(ws: ClientConnection) -> int | None:
    """Read (and drop) frames until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), DEADLINE)
    return ws.close_code


# -- subscribe, replay, live -------------------------------------------------------------

async def test_subscribe_answers_subscribed_with_the_last_seq(server: ServerThread) -> None:
    async with http_client(server.base_url) as client:
        for n in range(3):
            await create_task(client, "repo-a", f"task {n}")
    async with ws_client(server.ws_url) as ws:
        subscribed = await subscribe(ws, {"repo-a": 3, "empty-repo": 0})
    assert subscribed["repositories"] == {"repo-a": 3, "empty-repo": 0}


async def test_subscribe_after_n_replays_exactly_the_later_events_in_seq_order(
    server: ServerThread,
) -> None:
    async with http_client(server.base_url) as client:
        tasks = [await create_task(client, "repo-a", f"task {n}") for n in range(6)]
        async with ws_client(server.ws_url) as ws:
            await send(ws, {"type": "subscribe", "repositories": {"repo-a": 2}})
            assert await receive(ws) == {"type": "subscribed", "repositories": {"repo-a": 6}}
            replayed = await receive_until(ws, is_event("repo-a", 6))
            # A live write marks the end of the replay: nothing may come between.
            await create_task(client, "repo-a", "after replay")
            live = await receive(ws)

    assert [m["replay"] for m in replayed] == [True] * 4
    assert [m["event"]["seq"] for m in replayed] == [3, 4, 5, 6]
    assert [m["event"]["task_id"] for m in replayed] == [t["id"] for t in tasks[2:]]
    assert live["replay"] is False and live["event"]["seq"] == 7


async def test_live_events_follow_the_replay_in_seq_order(server: ServerThread) -> None:
    async with http_client(server.base_url) as client, ws_client(server.ws_url) as ws:
        first = await create_task(client, "repo-a", "before subscribing")
        assert (await subscribe(ws, {"repo-a": 0}))["repositories"] == {"repo-a": 1}
        task = await create_task(client, "repo-a", "live")
        response = await client.patch(f"/api/v1/tasks/{task['id']}", json={"status": "completed"})
        assert response.status_code == 200
        response = await client.delete(f"/api/v1/tasks/{first['id']}")
        assert response.status_code == 200
        received = await receive_until(ws, is_event("repo-a", 4))

    assert [(m["replay"], m["event"]["seq"], m["event"]["type"]) for m in received] == [
        (True, 1, "task_created"),
        (False, 2, "task_created"),
        (False, 3, "task_updated"),
        (False, 4, "task_deleted"),
    ]
    assert received[2]["event"]["task"]["status"] == "completed"
    assert received[2]["event"]["version"] == 2


async def test_events_of_repositories_not_subscribed_to_are_not_sent(
    server: ServerThread,
) -> None:
    async with http_client(server.base_url) as client, ws_client(server.ws_url) as ws:
        await subscribe(ws, {"repo-a": 0})
        for n in range(3):
            await create_task(client, "repo-b", f"other {n}")
            await create_task(client, "repo-a", f"mine {n}")
        # Events reach a connection in commit order: repo-b's would precede repo-a's seq 3.
        received = await receive_until(ws, is_event("repo-a", 3))

    assert {m["event"]["repository"] for m in events(received)} == {"repo-a"}
    assert [m["event"]["seq"] for m in events(received)] == [1, 2, 3]


async def test_unsubscribe_stops_the_events_of_that_repository(server: ServerThread) -> None:
    async with http_client(server.base_url) as client, ws_client(server.ws_url) as ws:
        await subscribe(ws, {"repo-a": 0, "repo-b": 0})
        await create_task(client, "repo-a", "seen")
        await receive_until(ws, is_event("repo-a", 1))

        await send(ws, {"type": "unsubscribe", "repositories": ["repo-a"]})
        assert await receive(ws) == {"type": "unsubscribed", "repositories": ["repo-a"]}
        await create_task(client, "repo-a", "not seen")
        await create_task(client, "repo-b", "marker")
        received = await receive_until(ws, is_event("repo-b", 1))

    assert [m["event"]["repository"] for m in events(received)] == ["repo-b"]


# -- resync ------------------------------------------------------------------------------

async def test_a_gap_the_pruned_log_no_longer_covers_requires_a_resync(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(log_retention=3)
    async with http_client(server.base_url) as client:
        for n in range(6):
            await create_task(client, "repo-a", f"task {n}")  # the log keeps seqs 4..6
    async with ws_client(server.ws_url) as ws:
        assert (await subscribe(ws, {"repo-a": 1}))["repositories"] == {"repo-a": 6}
        resync = await receive(ws)
        assert resync["type"] == "resync_required"
        assert resync["repository"] == "repo-a"
        assert resync["after"] == 1
        assert resync["earliest_seq"] == 4
        assert resync["last_seq"] == 6

        # Subscribing again from a seq the log still covers replays the rest.
        await subscribe(ws, {"repo-a": 3})
        replayed = await receive_until(ws, is_event("repo-a", 6))
    assert [m["event"]["seq"] for m in events(replayed)] == [4, 5, 6]


# -- heartbeat ---------------------------------------------------------------------------

FAST_HEARTBEAT = WebSocketConfig(heartbeat_interval=0.05, heartbeat_timeout=0.5)


async def test_the_server_sends_heartbeat_pings(start_server: Callable[..., ServerThread]) -> None:
    server = start_server(websocket=FAST_HEARTBEAT)
    async with ws_client(server.ws_url) as ws:
        pings = [await receive(ws, skip_pings=False) for _ in range(3)]
    assert [p["type"] for p in pings] == ["ping"] * 3
    assert all(isinstance(p["ts"], float) for p in pings)


async def test_a_client_that_answers_pings_stays_connected_past_the_timeout(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(websocket=FAST_HEARTBEAT)
    async with ws_client(server.ws_url) as ws:
        # 20 pings at 0.05 s span twice the 0.5 s timeout.
        for _ in range(20):
            assert (await receive(ws, skip_pings=False))["type"] == "ping"
            await send(ws, {"type": "pong"})
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_a_silent_client_is_closed_after_the_heartbeat_timeout(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(websocket=FAST_HEARTBEAT)
    async with ws_client(server.ws_url) as ws:
        assert await closed_with(ws) == CLOSE_HEARTBEAT_TIMEOUT


# -- shutdown ----------------------------------------------------------------------------

async def test_graceful_shutdown_closes_clients_with_1012(
    server_process: Callable[..., ServerProcess],
) -> None:
    process = server_process()
    async with ws_client(process.ws_url) as ws:
        await subscribe(ws, {"repo-a": 0})
        stopping = asyncio.create_task(asyncio.to_thread(process.stop))
        assert await closed_with(ws) == 1012  # service restart
        # uvicorn shuts down gracefully, then re-raises SIGTERM so the parent sees it.
        assert await asyncio.wait_for(stopping, 20) in (0, -signal.SIGTERM)
    assert "Traceback" not in process.log_path.read_text()


# -- bad messages ------------------------------------------------------------------------

MAX_MESSAGE_BYTES = 1024
BAD_MESSAGES = {
    "malformed JSON": ('{"type": "subscribe", "repositories":', "bad_message"),
    "not an object": ("[1, 2, 3]", "bad_message"),
    "unknown type": (json.dumps({"type": "shout", "text": "hi"}), "bad_message"),
    "bad repository name": (
        json.dumps({"type": "subscribe", "repositories": {"no/slashes": 0}}), "bad_message"),
    "negative seq": (json.dumps({"type": "subscribe", "repositories": {"repo-a": -1}}),
                     "bad_message"),
    "seq too large": (json.dumps({"type": "subscribe", "repositories": {"repo-a": 2**63}}),
                      "bad_message"),
    "oversized": (json.dumps({"type": "subscribe",
                              "repositories": {"r" * 10: 0},
                              "padding": "x" * MAX_MESSAGE_BYTES}), "message_too_large"),
    # Under the limit in characters, over it in bytes: the limit is on the wire size.
    "oversized in UTF-8": (json.dumps({"type": "ping", "padding": "é" * 600},
                                      ensure_ascii=False), "message_too_large"),
}


@pytest.fixture
def small_message_server(start_server: Callable[..., ServerThread]) -> ServerThread:
    return start_server(websocket=WebSocketConfig(max_message_bytes=MAX_MESSAGE_BYTES))


@pytest.mark.parametrize("raw, code", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
async def test_a_bad_message_gets_an_error_and_the_connection_keeps_working(
    small_message_server: ServerThread, raw: str, code: str,
) -> None:
    async with ws_client(small_message_server.ws_url) as ws:
        await ws.send(raw)
        error = await receive(ws)
        assert error["type"] == "error"
        assert error["error"] == code
        assert error["message"]
        assert (await subscribe(ws, {"repo-a": 0}))["repositories"] == {"repo-a": 0}


async def test_one_bad_message_fewer_than_the_limit_keeps_the_connection(
    small_message_server: ServerThread,
) -> None:
    async with ws_client(small_message_server.ws_url) as ws:
        for _ in range(MAX_BAD_MESSAGES - 1):
            await ws.send("not json")
            assert (await receive(ws))["type"] == "error"
        assert (await subscribe(ws, {"repo-a": 0}))["repositories"] == {"repo-a": 0}


async def test_too_many_bad_messages_close_the_connection_with_1008(
    small_message_server: ServerThread,
) -> None:
    async with ws_client(small_message_server.ws_url) as ws:
        for _ in range(MAX_BAD_MESSAGES):
            await ws.send("not json")
        assert await closed_with(ws) == CLOSE_POLICY


# -- concurrency -------------------------------------------------------------------------

WRITES = 200


@pytest.mark.parametrize("replay_page", [1000, 7], ids=["one-replay-page", "many-replay-pages"])
async def test_concurrent_writes_while_subscribing_arrive_once_each_in_order(
    start_server: Callable[..., ServerThread], replay_page: int,
) -> None:
    server = start_server(websocket=WebSocketConfig(replay_page=replay_page))
    some_written = asyncio.Event()

    async def write_all(client: httpx.AsyncClient) -> None:
        for n in range(WRITES):
            await create_task(client, "repo-a", f"task {n}")
            if n == 20:
                some_written.set()

    async with http_client(server.base_url) as client, ws_client(server.ws_url) as ws:
        writer = asyncio.create_task(write_all(client))
        # Subscribe mid-stream, so the replay races the live events.
        await asyncio.wait_for(some_written.wait(), DEADLINE)
        await send(ws, {"type": "subscribe", "repositories": {"repo-a": 0}})
        received = await receive_until(ws, is_event("repo-a", WRITES))
        await asyncio.wait_for(writer, DEADLINE)

    seqs = [m["event"]["seq"] for m in events(received)]
    first_seen = list(dict.fromkeys(seqs))  # at-least-once: drop duplicates by seq
    assert first_seen == list(range(1, WRITES + 1)), "events missing or out of seq order"


async def test_a_replay_longer_than_a_page_arrives_whole_and_in_order(
        server_process: Callable[..., ServerProcess]) -> None:
    server = server_process("--ws-replay-page", "2")   # 7 events: four storage reads
    async with http_client(server.base_url) as client:
        for n in range(7):
            await create_task(client, "repo-a", f"task {n}")
        async with ws_client(server.ws_url) as ws:
            await send(ws, {"type": "subscribe", "repositories": {"repo-a": 0}})
            assert await receive(ws) == {"type": "subscribed", "repositories": {"repo-a": 7}}
            replayed = await receive_until(ws, is_event("repo-a", 7))
            await create_task(client, "repo-a", "after replay")
            live = await receive(ws)
    assert [m["event"]["seq"] for m in replayed] == list(range(1, 8))
    assert live["replay"] is False and live["event"]["seq"] == 8
