"""A WebSocket subscriber that records every event it receives, one connection at a time.

tasksync.client.WebSocketClient drops duplicates and resumes by itself, which is right for
an application and wrong for a probe: the checkers must see what the server sent. A `Feed`
opens a new connection for every subscribe or resume (so each connection's events answer
exactly one subscribe message), records that subscription per repository, and records every
event frame as it arrives, duplicates and all, with the connection's number (1, 2, ...).
A lost connection stays lost until the next subscribe or resume: there is no hidden
reconnect. Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import websockets
from websockets.asyncio.client import ClientConnection, connect

from syncbench.explore.records import Recorder
from tasksync.clock import parse_rfc3339
from tasksync.models import (
    ErrorMessage,
    EventMessage,
    Ping,
    Pong,
    ResyncRequired,
    ServerMessage,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
)

_decode = msgspec.json.Decoder(ServerMessage).decode
_encode = msgspec.json.encode


class FeedError(RuntimeError):
    """A subscribe, resume or unsubscribe got no answer in time (or no connection)."""


class Feed:
    """Subscriber `name`'s connections to `ws_url`, recorded into `recorder`."""

    def __init__(self, name: str, ws_url: str, recorder: Recorder, *,
                 answer_timeout: float = 5.0) -> None:
        self.name = name
        self.ws_url = ws_url
        self.recorder = recorder
        self.answer_timeout = answer_timeout
        self.connection = 0
        self.last_delivered: dict[str, int] = {}  # highest seq received, over all connections
        self.server_last: dict[str, int] = {}     # last seqs the server said when subscribed
        self.subscribed: set[str] = set()
        self.resyncs: list[dict[str, Any]] = []
        self.events = 0
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._answers: asyncio.Queue[Any] = asyncio.Queue()

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._reader is not None and not self._reader.done()

    def known_last(self, repository: str) -> int:
        """The newest seq of `repository` this subscriber knows of."""
        return max(self.server_last.get(repository, 0), self.last_delivered.get(repository, 0))

    async def open(self, positions: Mapping[str, int], action: str, op_id: int | None,
                   sent: asyncio.Event | None = None) -> dict[str, int]:
        """A new connection subscribed from `positions` ({repository: after}); the server's
        last seqs. `action` ("subscribe" or "resume") is what the subscriptions row says;
        `sent` is set once the subscribe message is on its way."""
        await self.close()
        self.connection += 1
        connection = self.connection
        try:
            ws = await connect(self.ws_url, open_timeout=self.answer_timeout, ping_interval=None,
                               close_timeout=1.0, proxy=None, max_size=2**24,
                               additional_headers={"X-Client-ID": self.name,
                                                   "X-Client-Version": "1.0.0"})
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            raise FeedError(f"{self.name}: cannot connect to {self.ws_url}: {exc}") from exc
        self._ws = ws
        self._answers = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(ws, connection),
                                           name=f"feed-{self.name}-{connection}")
        now = time.time()
        for repository, after in positions.items():
            self.recorder.add("subscriptions", subscriber=self.name, connection=connection,
                              repository=repository, action=action, after=int(after), time=now,
                              op_id=op_id)
        await self._send(ws, Subscribe(repositories=dict(positions)))
        if sent is not None:
            sent.set()
        answer = await self._answer(Subscribed)
        self.subscribed = set(positions)
        self.server_last.update(answer.repositories)
        return dict(answer.repositories)

    async def unsubscribe(self, repositories: Iterable[str], op_id: int | None) -> list[str]:
        """Stop following `repositories` on the open connection; what the server confirmed."""
        ws = self._ws
        if not self.connected or ws is None:
            raise FeedError(f"{self.name}: no open connection to unsubscribe on")
        names = list(repositories)
        now = time.time()
        for repository in names:
            self.recorder.add("subscriptions", subscriber=self.name, connection=self.connection,
                              repository=repository, action="unsubscribe",
                              after=self.last_delivered.get(repository, 0), time=now,
                              op_id=op_id)
        await self._send(ws, Unsubscribe(repositories=names))
        answer = await self._answer(Unsubscribed)
        self.subscribed.difference_update(answer.repositories)
        return list(answer.repositories)

    async def probe(self, text: str) -> tuple[ErrorMessage, bool]:
        """Send `text` (a message the server must refuse) on the open connection; the
        server's error answer, and whether the connection still answers a ping after it."""
        ws = self._ws
        if not self.connected or ws is None:
            raise FeedError(f"{self.name}: no open connection to probe")
        await self._send(ws, text)
        error = await self._answer(ErrorMessage)
        await self._send(ws, Ping())
        try:
            await self._answer(Pong)
        except FeedError:
            return error, False
        return error, True

    async def close(self) -> None:
        """End the open connection, if any."""
        ws, reader = self._ws, self._reader
        self._ws, self._reader = None, None
        if ws is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await ws.close()
        if reader is not None:
            reader.cancel()
            await asyncio.wait({reader}, timeout=2.0)

    async def _send(self, ws: ClientConnection, message: msgspec.Struct | str) -> None:
        """Send `message` (a protocol Struct, or raw text as a probe) within the deadline."""
        text = message if isinstance(message, str) else _encode(message).decode()
        what = "the probe" if isinstance(message, str) else type(message).__name__
        try:
            async with asyncio.timeout(self.answer_timeout):
                await ws.send(text)
        except (TimeoutError, websockets.WebSocketException, OSError) as exc:
            raise FeedError(f"{self.name}: sending {what} failed: {exc!r}") from exc

    async def _answer(self, kind: type) -> Any:
        """The next answer of type `kind` on this connection, within the deadline."""
        deadline = time.monotonic() + self.answer_timeout
        while True:
            remaining = deadline - time.monotonic()
            reader = self._reader
            if remaining <= 0 or reader is None:
                raise FeedError(f"{self.name}: no {kind.__name__} within "
                                f"{self.answer_timeout}s (connection {self.connection})")
            getter = asyncio.ensure_future(self._answers.get())
            done, _ = await asyncio.wait({getter, reader}, timeout=remaining,
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                if reader in done:
                    raise FeedError(f"{self.name}: connection {self.connection} closed before "
                                    f"{kind.__name__}")
                continue
            answer = getter.result()
            if isinstance(answer, kind):
                return answer

    async def _read(self, ws: ClientConnection, connection: int) -> None:
        """Record every message of this connection until it closes."""
        try:
            async for raw in ws:
                received = time.time()
                try:
                    message = _decode(raw)
                except msgspec.DecodeError:
                    continue  # an unknown message type: a newer server, not our business
                if isinstance(message, EventMessage):
                    self._delivered(message, connection, received)
                elif isinstance(message, Ping):
                    with contextlib.suppress(Exception):
                        await ws.send(_encode(Pong()).decode())
                elif isinstance(message, ResyncRequired):
                    self.resyncs.append({"connection": connection, "repository":
                                         message.repository, "after": message.after,
                                         "earliest_seq": message.earliest_seq,
                                         "last_seq": message.last_seq, "time": received})
                    # the server dropped this repository's subscription: nothing more is due
                    self.recorder.add("subscriptions", subscriber=self.name,
                                      connection=connection, repository=message.repository,
                                      action="resync", after=message.after, time=received,
                                      op_id=None, earliest_seq=message.earliest_seq)
                elif isinstance(message, Subscribed | Unsubscribed | ErrorMessage | Pong):
                    self._answers.put_nowait(message)
        except (websockets.WebSocketException, OSError):
            return

    def _delivered(self, message: EventMessage, connection: int, received: float) -> None:
        event = message.event
        written = parse_rfc3339(event.timestamp)
        event_time = written.timestamp() if written is not None else None
        self.events += 1
        self.last_delivered[event.repository] = max(
            self.last_delivered.get(event.repository, 0), event.seq)
        self.recorder.add(
            "deliveries", subscriber=self.name, connection=connection,
            repository=event.repository, seq=event.seq, task_id=event.task_id,
            version=event.version, type=event.type, replay=message.replay,
            received_time=received, event_time=event_time,
            latency_ms=(received - event_time) * 1000.0 if event_time is not None else None)


__all__ = ["Feed", "FeedError"]
