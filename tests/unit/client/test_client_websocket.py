"""WebSocketClient against a scripted local WebSocket server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection

from tasksync.client import (
    ClientVersionUnsupported,
    ReceivedEvent,
    ResyncRequired,
    RetriesExhausted,
    RetryPolicy,
    WebSocketClient,
)
from tests.support.wait import wait_until_async

from .servers import ScriptedWSServer, event_json, send_json

StartWS = Callable[..., Awaitable[ScriptedWSServer]]
FAST_RECONNECT = RetryPolicy(max_attempts=None, base_delay=0.001, max_delay=0.01, deadline=5.0)


async def collect(client: WebSocketClient, count: int, timeout: float = 3.0) -> list[ReceivedEvent]:
    """The next `count` events of `client.events()`, or a failure after `timeout`."""
    out: list[ReceivedEvent] = []
    async with asyncio.timeout(timeout):
        async for received in client.events():
            out.append(received)
            if len(out) == count:
                break
    return out


async def hold_open(connection: ServerConnection) -> None:
    """Keep a server connection open until the client goes away."""
    await connection.wait_closed()


async def test_subscribes_from_the_given_seq_and_delivers_events(ws_server: StartWS) -> None:
    async def handler(connection: ServerConnection, n: int) -> None:
        message = await server.recv(connection, n)
        after = message["repositories"]["repo-a"]
        await send_json(connection, {"type": "subscribed", "repositories": {"repo-a": after + 2}})
        for seq in (after + 1, after + 2):
            await send_json(connection, {"type": "event", "replay": True, "event": event_json(seq)})
        await hold_open(connection)

    server = await ws_server(handler)
    before = time.time()
    async with WebSocketClient(server.url, {"repo-a": 10}, client_id="feed-1") as client:
        events = await collect(client, 2)
        assert [e.event.seq for e in events] == [11, 12]
        assert all(e.replay and e.connection == 1 and e.received_at >= before for e in events)
        assert client.last_seq == {"repo-a": 12}
        assert client.server_last_seq == {"repo-a": 12}
        assert (client.stats.events, client.stats.replayed) == (2, 2)
        assert events[0].delivery_latency > 0  # the scripted timestamp is in the past
    assert server.subscribes() == [(1, {"repo-a": 10})]


async def test_duplicates_are_dropped_per_repository(ws_server: StartWS) -> None:
    async def handler(connection: ServerConnection, n: int) -> None:
        await server.recv(connection, n)
        await send_json(connection, {"type": "subscribed", "repositories": {}})
        for repo, seq in [("a", 1), ("a", 2), ("a", 2), ("b", 1), ("a", 1), ("b", 1), ("a", 3)]:
            await send_json(connection, {"type": "event", "event": event_json(seq, repo)})
        await hold_open(connection)

    server = await ws_server(handler)
    async with WebSocketClient(server.url, ["a", "b"]) as client:
        events = await collect(client, 4)
        assert [(e.event.repository, e.event.seq) for e in events] == [
            ("a", 1),
            ("a", 2),
            ("b", 1),
            ("a", 3),
        ]
        await wait_until_async(lambda: client.stats.duplicates_dropped == 3, timeout=3.0)


async def test_reconnects_and_resumes_from_the_last_seq(ws_server: StartWS) -> None:
    async def handler(connection: ServerConnection, n: int) -> None:
        message = await server.recv(connection, n)
        after = message["repositories"]["repo-a"]
        await send_json(connection, {"type": "subscribed", "repositories": {}})
        if n == 1:
            for seq in (1, 2, 3):
                await send_json(connection, {"type": "event", "event": event_json(seq)})
            await connection.close(1012, "service restart")
            return
        # at-least-once: the server may resend what the client already has
        for seq in range(after, 5):
            await send_json(connection, {"type": "event", "replay": True, "event": event_json(seq)})
        await hold_open(connection)

    server = await ws_server(handler)
    client = WebSocketClient(server.url, ["repo-a"], reconnect=FAST_RECONNECT)
    async with client:
        events = await collect(client, 4)
    assert [e.event.seq for e in events] == [1, 2, 3, 4]
    assert [e.connection for e in events] == [1, 1, 1, 2]
    assert server.subscribes() == [(1, {"repo-a": 0}), (2, {"repo-a": 3})]
    assert client.stats.reconnects == 1
    assert client.stats.duplicates_dropped == 1


async def test_answers_server_pings_with_pong(ws_server: StartWS) -> None:
    pong = asyncio.Event()

    async def handler(connection: ServerConnection, n: int) -> None:
        await server.recv(connection, n)
        await send_json(connection, {"type": "subscribed", "repositories": {}})
        await send_json(connection, {"type": "ping", "ts": 1.5})
        if (await server.recv(connection, n))["type"] == "pong":
            pong.set()
        await hold_open(connection)

    server = await ws_server(handler)
    async with WebSocketClient(server.url, ["repo-a"]) as client:
        await asyncio.wait_for(pong.wait(), 3)
        assert client.stats.pings_answered == 1


async def test_a_silent_server_is_pinged_then_abandoned_for_a_new_connection(
    ws_server: StartWS,
) -> None:
    async def handler(connection: ServerConnection, n: int) -> None:
        await server.recv(connection, n)
        await send_json(connection, {"type": "subscribed", "repositories": {}})
        if n == 1:
            await server.recv(connection, n)  # the client's ping, left unanswered
            await hold_open(connection)
            return
        await send_json(connection, {"type": "event", "event": event_json(1)})
        await hold_open(connection)

    server = await ws_server(handler)
    client = WebSocketClient(
        server.url, ["repo-a"], heartbeat_timeout=0.2, reconnect=FAST_RECONNECT
    )
    async with client:
        (event,) = await collect(client, 1)
    assert event.connection == 2
    assert client.stats.heartbeat_timeouts == 1 and client.stats.reconnects == 1
    assert (1, {"type": "ping"}) in server.received


async def test_resync_required_is_counted_flagged_and_resubscribed(ws_server: StartWS) -> None:
    async def handler(connection: ServerConnection, n: int) -> None:
        await server.recv(connection, n)
        await send_json(connection, {"type": "subscribed", "repositories": {"repo-a": 60}})
        await send_json(
            connection,
            {"type": "resync_required", "repository": "repo-a", "after": 0, "earliest_seq": 30,
             "last_seq": 60},
        )
        await server.recv(connection, n)  # the resubscribe
        await send_json(connection, {"type": "event", "event": event_json(51)})
        await hold_open(connection)

    seen: list[ResyncRequired] = []

    async def on_resync(message: ResyncRequired) -> int:
        seen.append(message)
        return 50  # "I refetched everything up to seq 50"

    server = await ws_server(handler)
    async with WebSocketClient(server.url, ["repo-a"], on_resync=on_resync) as client:
        (event,) = await collect(client, 1)
        assert event.event.seq == 51
        assert client.stats.resyncs == 1 and client.resync_pending == frozenset()
    assert seen == [ResyncRequired(repository="repo-a", after=0, earliest_seq=30, last_seq=60)]
    assert server.subscribes() == [(1, {"repo-a": 0}), (1, {"repo-a": 50})]


async def test_resync_without_handler_leaves_a_flag_for_the_owner(ws_server: StartWS) -> None:
    async def handler(connection: ServerConnection, n: int) -> None:
        await server.recv(connection, n)
        await send_json(connection, {"type": "subscribed", "repositories": {}})
        await send_json(
            connection,
            {"type": "resync_required", "repository": "repo-a", "after": 0, "earliest_seq": 30,
             "last_seq": 60},
        )
        await server.recv(connection, n)  # the owner's resubscribe
        await hold_open(connection)

    server = await ws_server(handler)
    async with WebSocketClient(server.url, ["repo-a"]) as client:
        await wait_until_async(lambda: client.resync_pending == {"repo-a"}, timeout=3.0)
        await client.subscribe({"repo-a": 42})
        assert client.resync_pending == frozenset() and client.last_seq == {"repo-a": 42}
        await wait_until_async(lambda: (1, {"repo-a": 42}) in server.subscribes(), timeout=3.0)


async def test_handlers_receive_events_and_a_failing_handler_is_counted(
    ws_server: StartWS,
) -> None:
    async def handler(connection: ServerConnection, n: int) -> None:
        await server.recv(connection, n)
        await send_json(connection, {"type": "subscribed", "repositories": {}})
        for seq in (1, 2, 3):
            await send_json(connection, {"type": "event", "event": event_json(seq)})
        await hold_open(connection)

    seqs: list[int] = []

    async def on_event(received: ReceivedEvent) -> None:
        seqs.append(received.event.seq)
        if received.event.seq == 2:
            raise RuntimeError("handler bug")

    server = await ws_server(handler)
    async with WebSocketClient(server.url, ["repo-a"], on_event=on_event) as client:
        await wait_until_async(lambda: len(seqs) == 3, timeout=3.0)
        assert client.stats.handler_errors == 1 and client.last_seq == {"repo-a": 3}


async def test_unsupported_client_version_is_refused_without_retrying(ws_server: StartWS) -> None:
    def refuse(connection: ServerConnection, request: object) -> object:
        response = connection.respond(
            426, '{"error": "client_version_unsupported", "message": "upgrade"}'
        )
        return response

    server = await ws_server(hold_open, process_request=refuse)
    client = WebSocketClient(
        server.url, ["repo-a"], client_version="2.0.0", reconnect=FAST_RECONNECT
    )
    with pytest.raises(ClientVersionUnsupported, match="upgrade"):
        await client.connect(timeout=3)
    assert server.connections == 0


async def test_gives_up_when_the_outage_outlasts_the_reconnect_policy() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.001, deadline=None)
    client = WebSocketClient("ws://127.0.0.1:1/ws", ["repo-a"], reconnect=policy)
    with pytest.raises(RetriesExhausted) as caught:
        await client.connect(timeout=3)
    assert caught.value.attempts == 3 and client.stats.connect_failures == 3


async def test_close_ends_the_events_iterator(ws_server: StartWS) -> None:
    async def handler(connection: ServerConnection, n: int) -> None:
        await server.recv(connection, n)
        await send_json(connection, {"type": "subscribed", "repositories": {}})
        await hold_open(connection)

    server = await ws_server(handler)
    client = WebSocketClient(server.url, ["repo-a"])
    await client.connect()
    assert client.connected
    consumer = asyncio.create_task(collect(client, 1))
    await client.close()
    assert await asyncio.wait_for(consumer, 3) == []
    assert not client.connected
