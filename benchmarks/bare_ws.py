"""The bare fan-out baseline: a websockets server that broadcast()s ~300-byte events.

    python -m benchmarks.bare_ws PORT

A connection that sends "subscribe" first is a subscriber; any other is the publisher:
each text it sends is broadcast to the subscribers as it is (the publisher paces them and
stamps each with its send time, so latency is measured on one clock), and "stats" is
answered with {"broadcast_s_per_connection": ...}: the time broadcast() took per connection.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

subscribers: set[ServerConnection] = set()


async def handler(connection: ServerConnection) -> None:
    first = await connection.recv()
    if first != "subscribe":
        await _publisher(connection, first)
        return
    subscribers.add(connection)
    try:
        await connection.wait_closed()
    finally:
        subscribers.discard(connection)


async def _publisher(connection: ServerConnection, text: str) -> None:
    spent, sent = 0.0, 0
    while text != "stats":
        started = time.perf_counter()
        broadcast(subscribers, text)
        spent += time.perf_counter() - started
        sent += len(subscribers)
        text = await connection.recv()
    await connection.send(json.dumps(
        {"broadcast_s_per_connection": spent / sent if sent else 0.0, "sent": sent}))


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, ping_interval=None):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
