"""How tool calls reach the HTTP API: in process (the server's own app) or over the network
(`tasksync mcp --server URL`, retried with one idempotency key per write)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping

import httpx
import msgspec
from starlette.types import ASGIApp

from tasksync.mcp_server.tools import Call

RETRIED_STATUSES = frozenset({502, 503, 504})


def in_process(app: ASGIApp) -> tuple[Call, httpx.AsyncClient]:
    """Calls into `app` itself: through its gates and routes, with no socket in between."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                               base_url="http://tasksync.in-process")
    return _calling(client, attempts=1), client


def over_network(url: str, timeout: float = 30.0, attempts: int = 4) -> tuple[Call, httpx.AsyncClient]:
    """Calls to the server at `url`; a failed call is retried up to `attempts` times in all,
    a write always under one Idempotency-Key (the caller's, or one made here)."""
    client = httpx.AsyncClient(base_url=url, timeout=timeout)
    return _calling(client, attempts), client


def _calling(client: httpx.AsyncClient, attempts: int) -> Call:
    async def call(method: str, path: str, query: Mapping[str, str],
                   headers: Mapping[str, str], body: bytes | None) -> tuple[int, bytes]:
        headers = dict(headers)
        if method != "GET" and attempts > 1:
            headers.setdefault("Idempotency-Key", f"mcp-{uuid.uuid4()}")
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(1, attempts + 1):
            try:
                reply = await client.request(method, path, params=query, headers=headers,
                                             content=body)
            except httpx.TransportError as exc:
                if attempt == attempts:
                    return 503, _unreachable(client, exc)
            else:
                if reply.status_code not in RETRIED_STATUSES or attempt == attempts:
                    return reply.status_code, reply.content
            await asyncio.sleep(min(0.2 * 2 ** (attempt - 1), 2.0))  # backoff before a retry
        raise AssertionError("unreachable")  # the last attempt always returns

    return call


def _unreachable(client: httpx.AsyncClient, exc: httpx.TransportError) -> bytes:
    return msgspec.json.encode({
        "error": "server_unreachable",
        "message": f"cannot reach the tasksync server at {client.base_url} "
                   f"({type(exc).__name__}: {exc}); start it, or pass --server with its URL",
    })
