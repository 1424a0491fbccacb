"""WebSocket notifications: subscribe with the last seq seen, replay, then live events.

A frame is written straight to the connection when nothing is ahead of it (the common
case: one write per subscriber per event, as websockets' broadcast() does); otherwise it
waits in the connection's bounded outgoing queue, drained in order by one sender task, so
a slow subscriber never blocks publishing. A subscription replays the change log after the
client's seq; live events that arrive meanwhile wait in `pending` and are merged in seq
order once the replay has caught up. A subscriber whose queue overflows is closed with
1013 and resumes from its last seq on reconnect: delivery stays at-least-once.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from tasksync.models import (
    MAX_SEQ,
    ClientMessage,
    ErrorMessage,
    EventMessage,
    Ping,
    Pong,
    ResyncRequired,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
)
from tasksync.server.metrics import ServerMetrics
from tasksync.server.service import TaskService

CLOSE_OVERLOADED = 1013
CLOSE_POLICY = 1008
CLOSE_HEARTBEAT_TIMEOUT = 4408
MAX_BAD_MESSAGES = 10

_decode_message = msgspec.json.Decoder(ClientMessage).decode
_PONG = msgspec.json.encode(Pong()).decode()


def _frame(message: msgspec.Struct) -> str:
    """`message` as the text frame that carries it."""
    return msgspec.json.encode(message).decode()


@dataclass(frozen=True, slots=True)
class WebSocketConfig:
    """Heartbeats, limits and the queue bound of each connection."""

    heartbeat_interval: float = 10.0
    heartbeat_timeout: float = 30.0
    max_message_bytes: int = 64 * 1024
    max_queue: int = 10_000
    replay_page: int = 1000


@dataclass
class Subscription:
    """Where one connection stands in one repository's log."""

    last_sent: int
    live: bool = False
    pending: list[tuple[int, str]] = field(default_factory=list)


class Subscriber:
    """One WebSocket connection: its subscriptions and its outgoing queue."""

    def __init__(self, websocket: WebSocket, max_queue: int) -> None:
        self.websocket = websocket
        self.queue: asyncio.Queue[str] = asyncio.Queue(max_queue)
        self.subscriptions: dict[str, Subscription] = {}
        self.last_heard = time.monotonic()
        self.overloaded = False
        self.failure: BaseException | None = None  # a direct write failed: the sender ends
        self.sending = False  # the sender task holds a frame it has not finished writing
        self.in_flight: asyncio.Future[None] | None = None  # a direct write that had to wait

    def send(self, text: str) -> None:
        """Write a frame now when nothing is ahead of it, else queue it; on overflow mark
        the connection for closing (it will resume)."""
        if self.overloaded or self.failure is not None:
            return
        if not self.sending and self.in_flight is None and self.queue.empty():
            self._write_now(text)
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.overloaded = True
            self._wake_sender()

    def _write_now(self, text: str) -> None:
        # Sending is a coroutine only because it may wait for a paused transport (a peer
        # that reads slowly); otherwise it completes at its first step. Stepping it here
        # saves the queue hand-off and the sender task's wake-up per frame.
        coroutine = self.websocket.send_text(text)
        try:
            waiting = coroutine.send(None)
        except StopIteration:
            return
        except Exception as exc:
            self._fail(exc)
            return
        # It waits on `waiting` (a future): a task resumes it once that is done, and frames
        # sent meanwhile queue behind this one.
        loop = asyncio.get_running_loop()
        in_flight = self.in_flight = loop.create_future()

        def resume(_: object = None) -> None:
            loop.create_task(coroutine).add_done_callback(finished)

        def finished(task: asyncio.Task[None]) -> None:
            self.in_flight = None
            if task.cancelled():
                self._fail(asyncio.CancelledError())
            elif task.exception() is not None:
                self._fail(task.exception())
            if not in_flight.done():
                in_flight.set_result(None)

        if isinstance(waiting, asyncio.Future):
            waiting.add_done_callback(resume)
        else:  # a bare yield (sleep(0)): resume on the next loop iteration
            loop.call_soon(resume)

    def _fail(self, error: BaseException) -> None:
        self.failure = error
        self._wake_sender()

    def _wake_sender(self) -> None:
        # An empty frame wakes the sender, which sees `overloaded` or `failure` and ends the
        # connection; a full queue is swapped for one holding only that frame.
        try:
            self.queue.put_nowait("")
        except asyncio.QueueFull:
            self.queue = asyncio.Queue(1)
            self.queue.put_nowait("")

    def offer(self, repository: str, seq: int, text: str) -> int:
        """Deliver a live event if this connection wants it; 1 when sent or queued."""
        subscription = self.subscriptions.get(repository)
        if subscription is None:
            return 0
        if not subscription.live:
            subscription.pending.append((seq, text))
            return 0
        if seq <= subscription.last_sent:
            return 0
        subscription.last_sent = seq
        self.send(text)
        return 1


class Hub:
    """Routes committed events to the connections subscribed to their repository."""

    def __init__(
        self, service: TaskService, metrics: ServerMetrics, config: WebSocketConfig,
        skip_every: int = 0, bugs: frozenset[str] = frozenset(),
    ) -> None:
        self.service = service
        self.metrics = metrics
        self.config = config
        self._by_repository: dict[str, set[Subscriber]] = defaultdict(set)
        self._connections: set[Subscriber] = set()
        # Seeded bug "skip_event": drop every n-th live event, to prove the checks see it.
        self._skip_every = skip_every
        self._published = 0
        # Seeded bugs (tasksync.bugs): "resume_off_by_one" replays from after+2;
        # "replay_live_race" starts live delivery where the log ends once the replay is read.
        self._replay_from = 2 if "resume_off_by_one" in bugs else 1
        self._live_race = "replay_live_race" in bugs

    def watches(self, repository: str) -> bool:
        """Whether a connection here subscribes to `repository`."""
        return repository in self._by_repository

    def publish(self, events: list[Any]) -> None:
        """Called on the event loop right after a commit, in seq order."""
        for event in events:
            self._published += 1
            if self._skip_every and self._published % self._skip_every == 0:
                continue
            subscribers = self._by_repository.get(event.repository)
            if not subscribers:
                continue
            # Encoded once here, then the same frame goes to every subscriber.
            text = _frame(EventMessage(replay=False, event=event))
            sent = sum(sub.offer(event.repository, event.seq, text) for sub in subscribers)
            self.metrics.ws_events_sent.inc(sent)

    async def serve(self, websocket: WebSocket) -> None:
        """Run one connection until the client leaves, times out or the server stops."""
        await websocket.accept()
        subscriber = Subscriber(websocket, self.config.max_queue)
        self._connections.add(subscriber)
        self.metrics.ws_connections.inc()
        replays: set[asyncio.Task] = set()
        # Whichever ends first ends the connection: the client left, the sender failed or
        # closed an overloaded queue, or the heartbeat found the peer silent.
        loops = {
            asyncio.create_task(self._receive_loop(subscriber, replays)),
            asyncio.create_task(self._send_loop(subscriber)),
            asyncio.create_task(self._heartbeat_loop(subscriber)),
        }
        try:
            await asyncio.wait(loops, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (*loops, *replays):
                task.cancel()
            await asyncio.gather(*loops, *replays, return_exceptions=True)
            for repository in list(subscriber.subscriptions):
                self._drop(subscriber, repository)
            self._connections.discard(subscriber)
            self.metrics.ws_connections.dec()

    async def _receive_loop(self, subscriber: Subscriber, replays: set[asyncio.Task]) -> None:
        websocket = subscriber.websocket
        bad_messages = 0
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            subscriber.last_heard = time.monotonic()
            raw = message.get("text") or message.get("bytes") or b""
            error = self._handle(subscriber, raw, replays)
            if error is not None:
                bad_messages += 1
                subscriber.send(_frame(ErrorMessage(error=error[0], message=error[1])))
                if bad_messages >= MAX_BAD_MESSAGES:
                    await _close(websocket, CLOSE_POLICY, "too many malformed messages")
                    return

    def _handle(
        self, subscriber: Subscriber, raw: str | bytes, replays: set[asyncio.Task]
    ) -> tuple[str, str] | None:
        """Act on one client message; returns (code, message) when it is malformed."""
        size = len(raw.encode()) if isinstance(raw, str) else len(raw)  # bytes, not chars
        if size > self.config.max_message_bytes:
            return "message_too_large", f"messages are limited to {self.config.max_message_bytes} bytes"
        try:
            message = _decode_message(raw)
        except msgspec.DecodeError as exc:
            return "bad_message", (
                f"could not read the message ({exc}); send JSON like"
                ' {"type": "subscribe", "repositories": {"repo": 0}}'
            )
        if isinstance(message, Subscribe):
            for repository, after in message.repositories.items():
                self._drop(subscriber, repository)
                subscriber.subscriptions[repository] = Subscription(last_sent=after)
                self._by_repository[repository].add(subscriber)
                task = asyncio.create_task(self._replay(subscriber, repository, after))
                replays.add(task)
                task.add_done_callback(replays.discard)
        elif isinstance(message, Unsubscribe):
            for repository in message.repositories:
                self._drop(subscriber, repository)
            subscriber.send(_frame(Unsubscribed(repositories=message.repositories)))
        elif isinstance(message, Ping):
            subscriber.send(_PONG)
        return None

    async def _replay(self, subscriber: Subscriber, repository: str, after: int) -> None:
        subscription = subscriber.subscriptions[repository]
        try:
            await self._replay_pages(subscriber, repository, after, subscription)
        except Exception as exc:  # storage down, before or half way: the client subscribes
            # again from the last seq it got; live events meanwhile would leave a gap
            subscriber.send(_frame(ErrorMessage(
                error="storage_unavailable", repository=repository,
                message=f"could not read the change log of {repository!r} ({exc}); "
                        "subscribe again later from the last seq you got",
            )))
            if subscriber.subscriptions.get(repository) is subscription:
                self._drop(subscriber, repository)

    async def _replay_pages(self, subscriber: Subscriber, repository: str, after: int,
                            subscription: Subscription) -> None:
        page = await self.service.changes(repository, after + self._replay_from - 1,
                                          self.config.replay_page)
        subscriber.send(_frame(Subscribed(repositories={repository: page.last_seq})))
        if page.earliest_seq > after + 1 and page.last_seq > after:
            subscriber.send(_frame(ResyncRequired(
                repository=repository, after=after,
                earliest_seq=page.earliest_seq, last_seq=page.last_seq,
            )))
            self._drop(subscriber, repository)
            return
        # the bug's naive replay stops at the log's end as announced in `subscribed`
        replay_end = page.last_seq if self._live_race else MAX_SEQ
        while True:
            for event in page.events:
                if subscription.last_sent < event.seq <= replay_end:
                    subscription.last_sent = event.seq
                    subscriber.send(_frame(EventMessage(replay=True, event=event)))
                    if self._live_race:
                        await asyncio.sleep(0)  # the bug's naive replay: one frame a turn
            if not page.has_more or subscription.last_sent >= replay_end \
                    or subscriber.subscriptions.get(repository) is not subscription:
                break
            page = await self.service.changes(repository, subscription.last_sent, self.config.replay_page)
        if self._live_race:
            await self._join_live_late(subscription, repository)
        for seq, text in sorted(subscription.pending):
            if seq > subscription.last_sent:
                subscription.last_sent = seq
                subscriber.send(text)
        subscription.pending.clear()
        subscription.live = True

    async def _join_live_late(self, subscription: Subscription, repository: str) -> None:
        """Seeded bug "replay_live_race": the replay runs to the log's end announced in
        `subscribed` (frame by frame, yielding to the loop after each); live delivery is set
        up only then, from the log's end as read then (one more storage round trip), not
        from where the replay ended: events committed meanwhile (buffered as pending while
        the replay ran) are neither replayed nor sent live."""
        subscription.pending.clear()
        try:
            page = await self.service.changes(repository, 2**62, 1)
        except Exception:
            return
        subscription.last_sent = max(subscription.last_sent, page.last_seq)

    def _drop(self, subscriber: Subscriber, repository: str) -> None:
        subscriber.subscriptions.pop(repository, None)
        subscribers = self._by_repository.get(repository)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._by_repository[repository]

    async def _send_loop(self, subscriber: Subscriber) -> None:
        websocket = subscriber.websocket
        while True:
            text = await subscriber.queue.get()
            if subscriber.overloaded:
                await _close(websocket, CLOSE_OVERLOADED, "subscriber too slow; reconnect and resume")
                return
            if subscriber.failure is not None:
                return
            subscriber.sending = True
            try:
                if subscriber.in_flight is not None:
                    await subscriber.in_flight  # the direct write ahead of this frame
                    if subscriber.failure is not None:
                        return
                await websocket.send_text(text)
            finally:
                subscriber.sending = False

    async def _heartbeat_loop(self, subscriber: Subscriber) -> None:
        interval, timeout = self.config.heartbeat_interval, self.config.heartbeat_timeout
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - subscriber.last_heard > timeout:
                await _close(subscriber.websocket, CLOSE_HEARTBEAT_TIMEOUT, "heartbeat timeout")
                return
            subscriber.send(_frame(Ping(ts=time.time())))


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code, reason)
    except (RuntimeError, WebSocketDisconnect, OSError):
        pass  # already closed by the peer
