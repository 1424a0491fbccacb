"""A group of WebSocket subscribers in one event loop: tasksync's own WebSocketClient, one
per name, each recording every event it is delivered (seq from the server, arrival on this
process's clock). The performance study's fan-out (`subscribe`: many subscribers, one URL,
one repository) and the sync study's subscribers (`follow`: each through its own proxy, every
repository, reconnecting) run one group in their own process, or one per Ray actor
(`fleet.py`) when one process cannot drive them all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tasksync.client import WebSocketClient

CONNECT_CONCURRENCY = 50  # opening hundreds at once only queues them in the listen backlog


class SubscriberGroup:
    def __init__(self) -> None:
        self.feeds: list[WebSocketClient] = []
        self.rows: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    def now(self) -> float:
        """This process's wall clock (what arrivals are stamped with)."""
        return time.time()

    async def subscribe(self, ws_url: str, repository: str, names: Sequence[str],
                        timeout_s: float) -> float:
        """Connect a subscriber per name to `repository` from its start; seconds it took."""
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        new = [WebSocketClient(ws_url, {repository: 0}, client_id=name,
                               on_event=self._recorder(name), open_timeout=timeout_s)
               for name in names]
        self.feeds.extend(new)

        async def connect(feed: WebSocketClient) -> None:
            async with gate:
                await feed.connect(timeout=timeout_s)

        started = time.perf_counter()
        await asyncio.gather(*(connect(feed) for feed in new))
        return time.perf_counter() - started

    async def follow(self, name: str, ws_url: str, repositories: Mapping[str, int],
                     timeout_s: float, **options: Any) -> None:
        """Connect subscriber `name` to `repositories` (repository -> position) through
        `ws_url`; `options` go to its WebSocketClient (reconnect, heartbeat_timeout, ...)."""
        feed = WebSocketClient(ws_url, dict(repositories), client_id=name,
                               on_event=self._recorder(name), **options)
        self.feeds.append(feed)
        await feed.connect(timeout=timeout_s)

    def positions(self) -> dict[str, dict[str, int]]:
        """Each subscriber's last seq delivered, per repository (by its name)."""
        return {feed.client_id: dict(feed.last_seq) for feed in self.feeds}

    def feed_stats(self) -> dict[str, int]:
        """Reconnects and duplicates dropped, summed over this group's subscribers."""
        return {"reconnects": sum(feed.stats.reconnects for feed in self.feeds),
                "duplicates_dropped": sum(feed.stats.duplicates_dropped for feed in self.feeds)}

    def _recorder(self, name: str) -> Callable[[Any], None]:
        def on_event(received: Any) -> None:
            event, latency = received.event, received.delivery_latency
            self.rows.append({"subscriber": name, "repository": event.repository,
                              "seq": event.seq, "task_id": event.task_id, "type": event.type,
                              "event_time": received.received_at - latency,
                              "received_time": received.received_at,
                              "latency_ms": latency * 1000, "replay": received.replay,
                              "connection": received.connection})
            self.changed.set()
        return on_event

    def received(self) -> int:
        return len(self.rows)

    async def wait_for(self, expected: int, timeout_s: float, quiet_s: float) -> int:
        """Until `expected` deliveries are in, none came for `quiet_s`, or `timeout_s`
        passed; how many are in."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last_count, last_change = len(self.rows), loop.time()
        while len(self.rows) < expected:
            now = loop.time()
            if len(self.rows) != last_count:
                last_count, last_change = len(self.rows), now
            if now - last_change > quiet_s or now > deadline:
                break
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 0.1)
            except TimeoutError:
                pass
        return len(self.rows)

    async def close(self) -> list[dict[str, Any]]:
        """Close every subscriber; every delivery recorded (and forget them)."""
        await asyncio.gather(*(feed.close() for feed in self.feeds))
        rows, self.rows, self.feeds = self.rows, [], []
        return rows


__all__ = ["CONNECT_CONCURRENCY", "SubscriberGroup"]
