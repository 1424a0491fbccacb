"""Runs a tasksync server with uvicorn on uvloop and httptools."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import uvicorn

from tasksync.server.app import create_app
from tasksync.server.config import ServerConfig
from tasksync.store.base import StorageError

READY_LINE = "tasksync listening on http://{host}:{port}"


class ServerStartError(RuntimeError):
    """The server could not start; str() names the port, file or path and what to do."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 picks a free one."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    config: ServerConfig,
    host: str = "127.0.0.1",
    port: int = 8700,
    log_level: str = "warning",
    port_file: Path | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; WebSocket clients are closed with 1012 on the way out.

    Binds before starting so that `port=0` works: the bound port is printed as READY_LINE on
    stdout and written to `port_file` when given (the socket already accepts connections).
    """
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise ServerStartError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port "
            "(0 picks a free one) or stop what holds this one") from None
    bound_port = sock.getsockname()[1]
    try:
        app = create_app(config)
    except StorageError as exc:
        sock.close()
        where = f"--db {config.db_path}" if config.store == "sqlite" else "--store"
        raise ServerStartError(f"{where}: {exc}") from None
    server = uvicorn.Server(uvicorn.Config(
        app, log_level=log_level, access_log=False,
        # Named, not "auto": a missing uvloop/httptools must fail loudly, not silently
        # halve throughput (both come with uvicorn[standard]).
        loop="uvloop", http="httptools",
        # Our own heartbeat (application pings) detects dead peers; protocol pings on top
        # would double the traffic and hide the behaviour studies want to see.
        ws_ping_interval=None, ws_ping_timeout=None,
        ws_max_size=config.websocket.max_message_bytes * 4,
        # permessage-deflate compresses every frame once per subscriber (each connection has
        # its own compression context): a third of the fan-out CPU for ~300-byte events.
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=5,
        # idle keep-alive connections are held longer than clients keep them (httpx 5 s,
        # aiohttp 15 s, ours 4 s), so a client never reuses one the server is closing
        timeout_keep_alive=30,
    ))
    if port_file is not None:
        try:
            port_file.write_text(str(bound_port))
        except OSError as exc:
            sock.close()
            raise ServerStartError(f"cannot write --port-file {port_file}: "
                                   f"{exc.strerror or exc}; give a writable path") from None
    print(READY_LINE.format(host=host, port=bound_port), flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    sys.stdout.flush()
