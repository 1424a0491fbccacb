"""Real servers on 127.0.0.1 for the client tests: scripted HTTP, misbehaving TCP, WebSocket.

Nothing here mocks httpx: every test sends real requests over real sockets.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from aiohttp import web
from websockets.asyncio.server import ServerConnection, serve

from syncbench.machine import free_port
from tasksync.models import ChangeEvent, Task


def task_json(task_id: str = "t1", version: int = 1, **fields: Any) -> dict[str, Any]:
    """A Task as the server would send it."""
    task = Task(
        id=task_id,
        repository=fields.pop("repository", "repo-a"),
        content=fields.pop("content", "hello"),
        version=version,
        **fields,
    )
    return msgspec.to_builtins(task)


def event_json(seq: int, repository: str = "repo-a", task_id: str = "t1") -> dict[str, Any]:
    """A ChangeEvent as the server would send it."""
    event = ChangeEvent(
        repository=repository,
        seq=seq,
        type="task_updated",
        task_id=task_id,
        version=seq,
        task=Task(id=task_id, repository=repository, content=f"v{seq}", version=seq),
        origin="someone",
        timestamp="2026-11-26T02:11:29.123456Z",
    )
    return msgspec.to_builtins(event)


# -- scripted HTTP server ------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival


class ScriptedHTTPServer:
    """Answers each request with the next scripted Reply (then `default`), recording it."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[Received] = []
        self.default = Reply(200, {"ok": True})
        self._replies: deque[Reply] = deque()

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        self._replies.extend(replies)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            Received(
                request.method,
                request.path,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                await request.read(),
                time.monotonic(),
            )
        )
        reply = self._replies.popleft() if self._replies else self.default
        body = reply.body if isinstance(reply.body, bytes) else msgspec.json.encode(reply.body)
        return web.Response(
            status=reply.status, body=body, headers=reply.headers, content_type="application/json"
        )


@pytest.fixture
async def http_server() -> AsyncIterator[ScriptedHTTPServer]:
    """A ScriptedHTTPServer listening on an ephemeral port of 127.0.0.1."""
    server = ScriptedHTTPServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}"
    yield server
    await runner.cleanup()


# -- misbehaving TCP server ------------------------------------------------------------------

OK_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
    b'Connection: close\r\n\r\n{"ok":true}'
)


class RawServer:
    """Handles each connection with the next behaviour: close, partial, reset, hang, ok, garbage.

    Every connection serves one request, so each retry arrives on a new connection.
    """

    def __init__(self, behaviours: list[str]) -> None:
        self.behaviours = deque(behaviours)
        self.connections = 0
        self.url = ""
        self._release = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        behaviour = self.behaviours.popleft() if self.behaviours else "ok"
        try:
            await reader.readuntil(b"\r\n\r\n")
            if behaviour == "ok":
                writer.write(OK_RESPONSE)
            elif behaviour == "partial":  # headers promise 100 bytes, 5 arrive
                writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ok"')
            elif behaviour == "garbage":
                writer.write(b"NOT HTTP AT ALL\r\n\r\n")
            elif behaviour == "reset":  # SO_LINGER 0 makes close() send RST
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            elif behaviour == "hang":
                await self._release.wait()
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def release(self) -> None:
        """Let hanging handlers finish (teardown)."""
        self._release.set()


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[list[str]], Awaitable[RawServer]]]:
    """A factory of RawServers on 127.0.0.1; all are closed after the test."""
    started: list[tuple[RawServer, asyncio.Server]] = []

    async def start(behaviours: list[str]) -> RawServer:
        raw = RawServer(behaviours)
        server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
        raw.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        started.append((raw, server))
        return raw

    yield start
    for raw, server in started:
        raw.release()
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)


@pytest.fixture
def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused)."""
    return f"http://127.0.0.1:{free_port()}"


# -- scripted WebSocket server ---------------------------------------------------------------

WSHandler = Callable[[ServerConnection, int], Awaitable[None]]


class ScriptedWSServer:
    """Runs `handler(connection, n)` for the n-th connection (1-based), recording messages."""

    def __init__(self, handler: WSHandler) -> None:
        self.handler = handler
        self.url = ""
        self.connections = 0
        self.received: list[tuple[int, dict[str, Any]]] = []  # (connection n, message)

    async def serve_one(self, connection: ServerConnection) -> None:
        self.connections += 1
        await self.handler(connection, self.connections)

    async def recv(
        self, connection: ServerConnection, n: int, timeout: float = 3.0
    ) -> dict[str, Any]:
        """The next message from the client on this connection, recorded."""
        message = msgspec.json.decode(await asyncio.wait_for(connection.recv(), timeout))
        self.received.append((n, message))
        return message

    def subscribes(self) -> list[tuple[int, dict[str, int]]]:
        """The (connection, repositories) of each subscribe message received."""
        return [(n, m["repositories"]) for n, m in self.received if m["type"] == "subscribe"]


async def send_json(connection: ServerConnection, message: dict[str, Any]) -> None:
    await connection.send(msgspec.json.encode(message).decode())


@pytest.fixture
async def ws_server() -> AsyncIterator[Callable[..., Awaitable[ScriptedWSServer]]]:
    """A factory of ScriptedWSServers on 127.0.0.1; all are closed after the test."""
    servers: list[Any] = []

    async def start(handler: WSHandler, **kwargs: Any) -> ScriptedWSServer:
        scripted = ScriptedWSServer(handler)
        server = await serve(scripted.serve_one, "127.0.0.1", 0, ping_interval=None, **kwargs)
        port = next(iter(server.sockets)).getsockname()[1]
        scripted.url = f"ws://127.0.0.1:{port}/ws"
        servers.append(server)
        return scripted

    yield start
    for server in servers:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)
