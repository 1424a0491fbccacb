"""A subscriber that stops reading: the server closes it (1013) once its bounded queue
overflows, other subscribers keep receiving every event in order, and it resumes by seq."""

from __future__ import annotations

import asyncio
import json

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tasksync.server.websocket import CLOSE_OVERLOADED, WebSocketConfig

DEADLINE = 60.0
BATCHES, ITEMS, CONTENT = 6, 2000, "x" * 1000  # 12,000 events of ~1.3 KB: past any socket buffer


async def subscribe(ws, repository: str, after: int = 0) -> None:
    await ws.send(json.dumps({"type": "subscribe", "repositories": {repository: after}}))
    while json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))["type"] != "subscribed":
        pass


async def read_events(ws, until_seq: int) -> list[int]:
    seqs: list[int] = []
    while not seqs or seqs[-1] < until_seq:
        message = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))
        if message["type"] == "event":
            seqs.append(message["event"]["seq"])
    return seqs


async def test_a_subscriber_that_stops_reading_is_closed_without_slowing_others(start_server) -> None:
    server = start_server(websocket=WebSocketConfig(max_queue=20))
    total = BATCHES * ITEMS
    async with (
        connect(server.ws_url, ping_interval=None, max_queue=1, compression=None) as stalled,
        connect(server.ws_url, ping_interval=None, compression=None) as reader,
        httpx.AsyncClient(base_url=server.base_url, timeout=DEADLINE) as http,
    ):
        await subscribe(stalled, "r")
        await subscribe(reader, "r")
        reading = asyncio.create_task(read_events(reader, total))
        for batch in range(BATCHES):  # `stalled` reads nothing from here on
            items = [{"change_id": f"w:{batch}:{i}", "task_id": f"t{batch}-{i}",
                      "task": {"content": CONTENT}} for i in range(ITEMS)]
            reply = await http.post("/api/v1/sync/batch", json={
                "repository": "r", "client_id": "w", "items": items, "pull_limit": 0})
            assert reply.status_code == 200, reply.text
        assert await asyncio.wait_for(reading, DEADLINE) == list(range(1, total + 1))

        received: list[int] = []
        try:
            while True:
                message = json.loads(await asyncio.wait_for(stalled.recv(), DEADLINE))
                if message["type"] == "event":
                    received.append(message["event"]["seq"])
        except ConnectionClosed:
            pass
        assert stalled.close_code == CLOSE_OVERLOADED
        assert received == list(range(1, len(received) + 1)), "what it got is in order, no gap"
        assert len(received) < total

    async with connect(server.ws_url, ping_interval=None) as resumed:
        await subscribe(resumed, "r", after=received[-1])
        assert await read_events(resumed, total) == list(range(received[-1] + 1, total + 1))
