"""WebSocketClient: a live, resumable, duplicate-free feed of repositories' change events.

One background task owns the connection: it subscribes from the last seq seen per
repository, answers pings, treats silence as death, and reconnects with jittered backoff
(a RetryPolicy) until the outage outlasts the policy. The protocol is at-least-once, so
events at or below the last seq of their repository are dropped here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Self

import msgspec
import websockets
from websockets.asyncio.client import ClientConnection, connect

from tasksync import bugs
from tasksync.client.errors import (
    RetriesExhausted,
    ServerUnreachable,
    TaskSyncError,
    TransportError,
    error_for_status,
)
from tasksync.client.retry import RetryPolicy, parse_retry_after
from tasksync.clock import parse_rfc3339
from tasksync.models import (
    ChangeEvent,
    ErrorMessage,
    EventMessage,
    Ping,
    Pong,
    ResyncRequired,
    ServerMessage,
    Subscribe,
    Subscribed,
)

logger = logging.getLogger(__name__)

# Reconnect quickly at first, never faster than every 5 s later, give up after 5 min down.
DEFAULT_RECONNECT = RetryPolicy(max_attempts=None, base_delay=0.1, max_delay=5.0, deadline=300.0)
CLOSE_SERVICE_RESTART = 1012  # the server going down gracefully (PROTOCOL.md)
STORAGE_UNAVAILABLE = "storage_unavailable"  # a subscription the server dropped (PROTOCOL.md)


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """A change event as delivered, with when it arrived (for delivery latency)."""

    event: ChangeEvent
    replay: bool
    received_at: float  # time.time(), comparable with the event's server timestamp
    received_monotonic: float
    connection: int  # which connection (1, 2, ...) delivered it

    @property
    def delivery_latency(self) -> float:
        """Seconds from the server's event timestamp to its arrival here (clock skew included)."""
        written = parse_rfc3339(self.event.timestamp)
        if written is None:
            raise ValueError(f"event timestamp {self.event.timestamp!r} is not RFC 3339")
        return self.received_at - written.timestamp()


@dataclass
class WebSocketStats:
    """Counters of what the feed has done since the client was created."""

    events: int = 0  # delivered (duplicates excluded)
    replayed: int = 0  # delivered events the server marked as replay
    duplicates_dropped: int = 0
    reconnects: int = 0  # subscriptions after the first
    resyncs: int = 0
    connect_failures: int = 0
    heartbeat_timeouts: int = 0
    service_restarts: int = 0  # connections the server closed with 1012 (restarting)
    pings_answered: int = 0
    server_errors: int = 0  # {"type": "error"} messages received
    handler_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


# Unknown message types fail to decode and are ignored (see _handle).
_decode_message = msgspec.json.Decoder(ServerMessage).decode
_PING = msgspec.json.encode(Ping()).decode()
_PONG = msgspec.json.encode(Pong()).decode()
_END = object()  # queued when the feed ends, so that events() stops


class _HeartbeatLost(Exception):
    """The server was silent for longer than heartbeat_timeout."""


class _Resubscribe(Exception):
    """The server could not serve a subscription (storage_unavailable) and dropped it."""


EventHandler = Callable[[ReceivedEvent], Awaitable[None] | None]
ResyncHandler = Callable[[ResyncRequired], Awaitable[int | None] | int | None]


def _frame(message: msgspec.Struct) -> str:
    """`message` as the text frame that carries it."""
    return msgspec.json.encode(message).decode()


def _positions(
    repositories: Mapping[str, int] | Iterable[str], known: Mapping[str, int]
) -> dict[str, int]:
    """Last seq per repository: as given, or the known one (else 0) for bare names."""
    if isinstance(repositories, str):
        repositories = [repositories]
    if isinstance(repositories, Mapping):
        return {repo: int(seq) for repo, seq in repositories.items()}
    return {repo: known.get(repo, 0) for repo in repositories}


class WebSocketClient:
    """A subscription to change events over /ws that survives disconnects.

    `repositories` is a list of names (start from seq 0) or {name: last seq seen}.
    Events reach `on_event` (sync or async, called in order) and, when no handler is given
    or while an `events()` iterator is running, the `events()` iterator. `on_resync` is
    called on resync_required; returning an int resubscribes that repository from it.

        async with WebSocketClient("ws://127.0.0.1:8000/ws", ["repo-a"]) as feed:
            async for received in feed.events():
                ...
    """

    def __init__(
        self,
        ws_url: str,
        repositories: Mapping[str, int] | Iterable[str],
        *,
        client_id: str | None = None,
        client_version: str = "1.0.0",
        heartbeat_timeout: float = 30.0,
        reconnect: RetryPolicy = DEFAULT_RECONNECT,
        on_event: EventHandler | None = None,
        on_resync: ResyncHandler | None = None,
        open_timeout: float = 10.0,
        close_timeout: float = 2.0,
        max_size: int = 2**24,
    ) -> None:
        if heartbeat_timeout <= 0 or open_timeout <= 0 or close_timeout <= 0:
            raise ValueError("heartbeat_timeout, open_timeout and close_timeout must be > 0")
        self.ws_url = ws_url
        self.client_id = client_id or f"tasksync-ws-{uuid.uuid4().hex[:12]}"
        self.stats = WebSocketStats()
        self.reconnect = reconnect
        self._heartbeat_timeout = heartbeat_timeout
        self._close_timeout = close_timeout
        # Every connection is opened alike. Liveness is the protocol's own ping/pong (see
        # _read), so websockets' pings are off.
        self._connect = functools.partial(
            connect,
            ws_url,
            additional_headers={"X-Client-ID": self.client_id, "X-Client-Version": client_version},
            open_timeout=open_timeout,
            close_timeout=close_timeout,
            ping_interval=None,
            proxy=None,
            max_size=max_size,
        )
        self._on_event = on_event
        self._on_resync = on_resync
        self._last_seq: dict[str, int] = _positions(repositories, {})
        self._last_task: dict[str, str] = {}  # for the seeded bug "ws_dedupe_by_task"
        self._server_last_seq: dict[str, int] = {}
        self._resync_pending: set[str] = set()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._consumers = 0
        self._rng: random.Random = reconnect.new_rng()
        self._ws: ClientConnection | None = None
        self._connections = 0
        self._session_subscribed = False
        self._ever_subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failure: TaskSyncError | None = None
        self._closed = False

    # -- what the owner reads ------------------------------------------------------------

    @property
    def last_seq(self) -> dict[str, int]:
        """The last seq delivered (or subscribed from) per repository."""
        return dict(self._last_seq)

    @property
    def server_last_seq(self) -> dict[str, int]:
        """The newest seq per repository as the server reported it when we subscribed."""
        return dict(self._server_last_seq)

    @property
    def resync_pending(self) -> frozenset[str]:
        """Repositories told resync_required and not subscribed again since."""
        return frozenset(self._resync_pending)

    @property
    def connected(self) -> bool:
        """Whether a connection is open and its subscription confirmed."""
        return self._ws is not None and self._session_subscribed

    # -- lifecycle -------------------------------------------------------------------------

    async def connect(self, timeout: float = 30.0) -> None:
        """Return once subscribed; raises the feed's error, or ServerUnreachable after `timeout`."""
        if self._closed:
            raise RuntimeError("this WebSocketClient is closed; create a new one")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"tasksync-ws-{self.client_id}")
        waiter = asyncio.create_task(self._ever_subscribed.wait())
        try:
            await asyncio.wait(
                {waiter, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if self._ever_subscribed.is_set():
            return
        failure = self._failure
        await self.close()
        if failure is not None:
            raise failure
        raise ServerUnreachable(
            f"no subscription confirmed by {self.ws_url} within {timeout}s; check that the "
            "server is up, or raise connect(timeout=...)"
        )

    async def close(self) -> None:
        """Stop the feed and close the connection; `events()` iterators end."""
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=self._close_timeout + 1.0)
        self._queue.put_nowait(_END)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- what the owner calls ----------------------------------------------------------------

    async def events(self) -> AsyncIterator[ReceivedEvent]:
        """Each delivered event in arrival order; ends on close(), raises if the feed failed."""
        self._consumers += 1
        try:
            while True:
                item = await self._queue.get()
                if item is _END:
                    self._queue.put_nowait(_END)  # so that every other iterator ends too
                    if self._failure is not None:
                        raise self._failure
                    return
                yield item
        finally:
            self._consumers -= 1

    async def subscribe(self, repositories: Mapping[str, int] | Iterable[str]) -> None:
        """Follow more repositories, or restart one from a seq (e.g. after a resync).

        The positions are kept for every later reconnect; on a live connection the
        subscribe message is sent now. Clears the resync flag of those repositories.
        """
        positions = _positions(repositories, self._last_seq)
        self._last_seq.update(positions)
        self._resync_pending.difference_update(positions)
        ws = self._ws
        if ws is None:
            return
        # A failure here means the connection is going down; the reconnect subscribes anyway.
        with contextlib.suppress(websockets.ConnectionClosed, TimeoutError):
            await self._send(ws, _frame(Subscribe(repositories=positions)))

    # -- the background task -------------------------------------------------------------------

    async def _run(self) -> None:
        """Connect, follow, reconnect: until close() or the reconnect policy gives up."""
        tries = 0  # connection attempts in the current outage
        outage_start = time.monotonic()
        try:
            while True:
                try:
                    await self._session()
                    last: TaskSyncError = TransportError("the server closed the connection")
                except websockets.InvalidStatus as exc:
                    last = self._rejection(exc)
                    if not self.reconnect.retries_status(exc.response.status_code):
                        self._fail(last)
                        return
                except (
                    OSError,
                    TimeoutError,
                    _HeartbeatLost,
                    _Resubscribe,
                    websockets.WebSocketException,
                ) as exc:
                    last = self._lost(exc)
                if self._session_subscribed:
                    tries, outage_start = 1, time.monotonic()
                else:
                    tries += 1
                    self.stats.connect_failures += 1
                delay = self.reconnect.next_delay(tries - 1, self._rng)
                elapsed = time.monotonic() - outage_start
                if not self.reconnect.may_retry(tries, elapsed, delay):
                    self._fail(RetriesExhausted(tries, elapsed, last, "reconnect policy"))
                    return
                logger.info("tasksync ws %s: %s; reconnecting in %.3fs", self.ws_url, last, delay)
                await asyncio.sleep(delay)
        except Exception as exc:  # a bug here must end the feed visibly, not hang events()
            logger.exception("tasksync ws feed crashed")
            self._fail(TaskSyncError(f"the WebSocket feed crashed: {exc!r}; please report it"))

    async def _session(self) -> None:
        """One connection's life: subscribe, then read until it is lost."""
        self._session_subscribed = False
        async with self._connect() as ws:
            self._connections += 1
            self._ws = ws
            try:
                await self._send(ws, _frame(Subscribe(repositories=self._last_seq)))
                await self._read(ws)
            finally:
                self._ws = None

    async def _read(self, ws: ClientConnection) -> None:
        """Handle messages until the connection closes or falls silent."""
        last_heard = time.monotonic()
        ping_sent = False
        while True:
            # Half-way through the allowed silence, ask the server for a sign of life.
            budget = self._heartbeat_timeout if ping_sent else self._heartbeat_timeout / 2
            try:
                async with asyncio.timeout(max(0.0, last_heard + budget - time.monotonic())):
                    raw = await ws.recv()
            except TimeoutError:
                if ping_sent:
                    self.stats.heartbeat_timeouts += 1
                    ws.transport.abort()  # a silent peer would also stall the close handshake
                    raise _HeartbeatLost(
                        f"no message for {self._heartbeat_timeout}s (heartbeat_timeout)"
                    ) from None
                await self._send(ws, _PING)
                ping_sent = True
                continue
            received = (time.time(), time.monotonic())
            ping_sent = False
            await self._handle(ws, raw, received)
            # Silence is counted only while waiting: time spent in handlers (an on_resync
            # refetch can be long) is ours, not the server's.
            last_heard = time.monotonic()

    async def _handle(
        self, ws: ClientConnection, raw: str | bytes, received: tuple[float, float]
    ) -> None:
        try:
            message = _decode_message(raw)
        except msgspec.DecodeError as exc:
            # Unknown message types are ignored so that a newer server does not break us.
            logger.warning("tasksync ws: ignoring unreadable message (%s): %.200r", exc, raw)
            return
        if isinstance(message, EventMessage):
            await self._deliver(message, received)
        elif isinstance(message, Ping):
            await self._send(ws, _PONG)
            self.stats.pings_answered += 1
        elif isinstance(message, Subscribed):
            self._server_last_seq.update(message.repositories)
            if not self._session_subscribed:
                self._session_subscribed = True
                if self._ever_subscribed.is_set():
                    self.stats.reconnects += 1
                self._ever_subscribed.set()
        elif isinstance(message, ResyncRequired):
            await self._resync(message)
        elif isinstance(message, ErrorMessage):
            self.stats.server_errors += 1
            logger.warning("tasksync ws server error %s: %s", message.error, message.message)
            if message.error == STORAGE_UNAVAILABLE:
                # the server dropped that subscription: connect again (with the reconnect
                # policy's backoff) and resume every repository from its last seq
                raise _Resubscribe(message.message)

    async def _deliver(self, message: EventMessage, received: tuple[float, float]) -> None:
        event = message.event
        if event.seq <= self._last_seq.get(event.repository, 0) or (
                bugs.active("ws_dedupe_by_task")
                and self._last_task.get(event.repository) == event.task_id):
            self.stats.duplicates_dropped += 1
            return
        self._last_seq[event.repository] = event.seq
        self._last_task[event.repository] = event.task_id
        self.stats.events += 1
        if message.replay:
            self.stats.replayed += 1
        delivered = ReceivedEvent(
            event, message.replay, received[0], received[1], self._connections
        )
        if self._on_event is None or self._consumers > 0:
            self._queue.put_nowait(delivered)
        if self._on_event is not None:
            await self._call_handler(self._on_event, delivered)

    async def _resync(self, message: ResyncRequired) -> None:
        self.stats.resyncs += 1
        self._resync_pending.add(message.repository)
        if self._on_resync is None:
            return
        restart_from = await self._call_handler(self._on_resync, message)
        if isinstance(restart_from, int):
            await self.subscribe({message.repository: restart_from})

    async def _call_handler(self, handler: Callable[[Any], Any], arg: Any) -> Any:
        """The handler's result (awaited if async); a failing handler is logged and counted."""
        try:
            result = handler(arg)
            if inspect.isawaitable(result):
                result = await result
            return result
        except Exception:
            self.stats.handler_errors += 1
            logger.exception("tasksync ws handler failed on %r", arg)
            return None

    async def _send(self, ws: ClientConnection, text: str) -> None:
        # A stalled peer can fill the socket buffer; do not wait on it past the heartbeat.
        async with asyncio.timeout(self._heartbeat_timeout):
            await ws.send(text)

    def _rejection(self, exc: websockets.InvalidStatus) -> TaskSyncError:
        """The named error for a refused handshake (426 -> ClientVersionUnsupported, ...)."""
        response = exc.response
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return error_for_status(response.status_code, response.body or b"", retry_after)

    def _lost(self, exc: BaseException) -> TaskSyncError:
        """The error recorded for a lost or failed connection."""
        name = type(exc).__name__
        if isinstance(exc, websockets.ConnectionClosed) and exc.rcvd is not None and (
                exc.rcvd.code == CLOSE_SERVICE_RESTART):
            self.stats.service_restarts += 1
        if isinstance(exc, OSError) and not self._session_subscribed:
            return ServerUnreachable(f"cannot connect to {self.ws_url}: {name}: {exc}", cause=exc)
        return TransportError(f"connection to {self.ws_url} lost: {name}: {exc}", cause=exc)

    def _fail(self, error: TaskSyncError) -> None:
        """End the feed with `error`: connect() and events() raise it."""
        self._failure = error
        self._queue.put_nowait(_END)
