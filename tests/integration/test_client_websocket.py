"""WebSocketClient against a real tasksync server, through a proxy that can cut it off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tasksync.client import HTTPClient, ReceivedEvent, RetryPolicy, WebSocketClient
from tests.support.servers import ServerThread
from tests.support.wait import wait_until_async

FAST_RECONNECT = RetryPolicy(max_attempts=None, base_delay=0.01, max_delay=0.05, deadline=10.0)


class CuttableProxy:
    """A TCP proxy to the server whose open connections can all be cut at once."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.url = ""
        self._pipes: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            finally:
                dst.close()

        pipes = {
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        }
        self._pipes |= pipes
        await asyncio.wait(pipes)
        self._pipes -= pipes

    def cut(self) -> None:
        """Drop every open connection (both directions)."""
        for task in self._pipes:
            task.cancel()


@pytest.fixture
async def proxy(server: ServerThread) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(server.port)
    listener = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.url = f"ws://127.0.0.1:{listener.sockets[0].getsockname()[1]}/ws"
    yield proxy
    proxy.cut()
    listener.close()
    await asyncio.wait_for(listener.wait_closed(), 5)


async def test_feed_replays_then_follows_live_and_resumes_after_a_cut(
    server: ServerThread, proxy: CuttableProxy
) -> None:
    received: list[ReceivedEvent] = []
    async with HTTPClient(server.base_url, client_id="writer") as http:
        first = await http.create_task("live", "before subscribing")
        feed = WebSocketClient(
            proxy.url, ["live"], on_event=received.append, reconnect=FAST_RECONNECT
        )
        async with feed:
            await wait_until_async(lambda: len(received) == 1)
            assert received[0].replay and received[0].event.task_id == first.id

            await http.update_task(first.id, content="live edit")
            await wait_until_async(lambda: len(received) == 2)
            assert not received[1].replay

            proxy.cut()
            await http.update_task(first.id, content="written while cut off")
            await wait_until_async(lambda: len(received) == 3 and feed.stats.reconnects == 1)
            assert received[2].event.task.content == "written while cut off"
            assert received[2].connection == 2

    assert [r.event.seq for r in received] == [1, 2, 3]
    assert feed.last_seq == {"live": 3}
    assert feed.stats.events == 3
    assert all(r.delivery_latency < 5 for r in received)


async def test_events_iterator_delivers_writes_of_another_client(server: ServerThread) -> None:
    async with WebSocketClient(server.ws_url, {"iter": 0}) as feed:
        async with HTTPClient(server.base_url) as http:
            for i in range(5):
                await http.create_task("iter", f"task {i}")
        seqs = []
        async with asyncio.timeout(5):
            async for received in feed.events():
                seqs.append(received.event.seq)
                if len(seqs) == 5:
                    break
    assert seqs == [1, 2, 3, 4, 5]


async def test_a_pruned_log_asks_for_a_resync_and_the_owner_restarts_the_feed(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(log_retention=2)
    async with HTTPClient(server.base_url) as http:
        for i in range(5):
            await http.create_task("pruned", f"task {i}")

        async def refetch(message: object) -> int:
            return (await http.changes("pruned", after=0, limit=1)).last_seq

        feed = WebSocketClient(server.ws_url, {"pruned": 0}, on_resync=refetch)
        async with feed:
            await wait_until_async(lambda: feed.stats.resyncs == 1 and feed.last_seq == {"pruned": 5})
            await http.create_task("pruned", "after the resync")
            received = []
            async with asyncio.timeout(5):
                async for event in feed.events():
                    received.append(event.event.seq)
                    break
    assert received == [6] and feed.resync_pending == frozenset()


async def test_a_subscription_storage_could_not_serve_is_resumed_not_left_silent(
        server: ServerThread) -> None:
    """The crash study found it: a subscribe answered `storage_unavailable` left the client
    connected (pings answered) but subscribed to nothing, its feed silent for good."""
    async with HTTPClient(server.base_url, client_id="writer") as http, \
            httpx.AsyncClient(base_url=server.base_url) as admin:
        await http.create_task("stalled", "before the fault")
        faults = {"storage_error_rate": 1.0, "storage_delay_ms": 0, "seed": 1}
        assert (await admin.post("/api/v1/admin/faults", json=faults)).status_code == 200
        received: list[int] = []
        feed = WebSocketClient(server.ws_url, {"stalled": 0}, client_id="follower",
                               reconnect=FAST_RECONNECT,
                               on_event=lambda got: received.append(got.event.seq))
        connecting = asyncio.create_task(feed.connect(timeout=10.0))
        await wait_until_async(lambda: feed.stats.server_errors >= 1,
                               message="the server refused the replay")
        assert (await admin.delete("/api/v1/admin/faults")).status_code == 200
        await connecting
        await http.create_task("stalled", "after the fault")
        await wait_until_async(lambda: received == [1, 2], timeout=10.0,
                               message=f"both events delivered, got {received}")
        assert feed.stats.reconnects >= 1 or feed.stats.connect_failures >= 1
        await feed.close()
