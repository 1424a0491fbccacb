"""A subscriber on tasksync's own WebSocketClient, live for the whole generated run.

The generated subscribers (`actors.SubscriberActor`) are probes: each subscribe or resume is a
fresh raw connection at a chosen position, so they test the server's replay and resume. The
library client is what applications use: it subscribes once from 0, drops duplicates by seq,
reconnects by itself when its proxy is cut off and resumes from the last seq it delivered.
Listening with it puts the client's own feed (its dedupe, reconnect and resume) under the
same change-feed check: each delivered event is a `deliveries` row, and each connection's
position a `subscriptions` row (the client's resume is internal, so a `resume` row is written
when the first event of a new connection arrives, at the position delivered before it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from syncbench.explore.context import RunContext
from tasksync.client import RetryPolicy
from tasksync.client.websocket import ReceivedEvent, WebSocketClient
from tasksync.models import ResyncRequired

# Cut off for a window, the listener keeps trying until it is back.
RECONNECT = RetryPolicy(max_attempts=None, base_delay=0.05, max_delay=0.5, deadline=120.0)
POLL_INTERVAL_S = 0.05

# A fresh server on a loaded machine (CI: two studies' servers, kernels and Toxiproxies on
# two cores) has taken over 15 s to confirm a first subscription; the run is not about that,
# and a server that never confirms one still stops the run with that error.
SUBSCRIBE_TIMEOUT_S = 60.0


class Listener:
    """Subscriber `name` on WebSocketClient through `group`'s proxy, from seq 0 of every
    repository of the run."""

    def __init__(self, ctx: RunContext, name: str, group: str) -> None:
        self.ctx = ctx
        self.name = name
        self.delivered: dict[str, int] = dict.fromkeys(ctx.repositories, 0)
        self.connection = 0
        self.client: WebSocketClient = ctx.stack.ws_client(
            dict.fromkeys(ctx.repositories, 0), group, client_id=name, reconnect=RECONNECT,
            heartbeat_timeout=5.0, on_event=self._on_event, on_resync=self._on_resync)

    async def start(self, timeout: float = SUBSCRIBE_TIMEOUT_S) -> None:
        self._positions("subscribe", 1)
        await self.client.connect(timeout=timeout)

    def _positions(self, action: str, connection: int) -> None:
        self.connection = connection
        now = time.time()
        for repository, after in self.delivered.items():
            self.ctx.recorder.add("subscriptions", subscriber=self.name, connection=connection,
                                  repository=repository, action=action, after=after, time=now,
                                  op_id=None)

    def _on_resync(self, message: ResyncRequired) -> int:
        """The log was pruned past its position: as an application would after fetching the
        full state, it follows the repository again from the log's end (recorded: what was
        before it is not due on this connection)."""
        now = time.time()
        for action, after in (("resync", message.after), ("subscribe", message.last_seq)):
            self.ctx.recorder.add("subscriptions", subscriber=self.name,
                                  connection=self.connection, repository=message.repository,
                                  action=action, after=after, time=now, op_id=None,
                                  earliest_seq=message.earliest_seq)
        self.delivered[message.repository] = max(self.delivered.get(message.repository, 0),
                                                 message.last_seq)
        return message.last_seq

    def _on_event(self, received: ReceivedEvent) -> None:
        if received.connection != self.connection:
            self._positions("resume", received.connection)
        event = received.event
        self.delivered[event.repository] = max(self.delivered.get(event.repository, 0),
                                               event.seq)
        self.ctx.recorder.add(
            "deliveries", subscriber=self.name, connection=received.connection,
            repository=event.repository, seq=event.seq, task_id=event.task_id,
            version=event.version, type=event.type, replay=received.replay,
            received_time=received.received_at,
            event_time=received.received_at - received.delivery_latency,
            latency_ms=received.delivery_latency * 1000.0)

    async def drain(self, last_seqs: Mapping[str, int], timeout: float) -> bool:
        """Whether it delivered every repository's last seq within `timeout`."""
        deadline = time.monotonic() + timeout
        while not all(self.delivered.get(repo, 0) >= seq for repo, seq in last_seqs.items()):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_INTERVAL_S)
        return True

    async def close(self) -> None:
        await self.client.close()


__all__ = ["Listener"]
