"""The part HTTPClient and BatchClient share: connection setup, headers, decoding, closing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Self, TypeVar

import httpx
import msgspec

from tasksync.client.attempts import Observer
from tasksync.client.breaker import ClientBreaker, ClientBreakerConfig
from tasksync.client.errors import ProtocolError
from tasksync.client.exchange import AiohttpExchange, Exchange, HttpxExchange, Reply
from tasksync.client.retry import DEFAULT_RETRY, RetryPolicy
from tasksync.client.sender import RetryingSender
from tasksync.client.transport import (
    DEFAULT_LIMITS,
    AiohttpTransport,
    TransportChoice,
    make_transport,
)

API_PREFIX = "/api/v1"

T = TypeVar("T")


def default_client_id() -> str:
    """A fresh client id, unique enough to key the server's per-client rate limit."""
    return f"tasksync-client-{uuid.uuid4().hex[:12]}"


class BaseClient:
    """An async connection to a tasksync server that sends through one RetryingSender.

    `base_url` is the server root (`http://127.0.0.1:8000`); routes add `/api/v1`.
    `transport` is "aiohttp" (default, fast under concurrency: sent straight on an aiohttp
    session, see exchange.py), "httpx" (httpx's own pool) or any httpx.AsyncBaseTransport
    (sent through httpx). Use as `async with` or call `aclose()`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_version: str = "1.0.0",
        client_id: str | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        breaker: ClientBreakerConfig | None = None,
        observer: Observer | None = None,
        timeout: float | httpx.Timeout = 10.0,
        transport: TransportChoice = "aiohttp",
        limits: httpx.Limits = DEFAULT_LIMITS,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.client_id = client_id or default_client_id()
        self.client_version = client_version
        self.retry = retry
        self.breaker = ClientBreaker(breaker) if breaker is not None else None
        chosen = make_transport(transport, limits)
        # The httpx client exists on every path: it normalises base_url, headers and timeouts
        # (which the fast path reads from it) and closes the transport in aclose().
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=chosen,
            headers={
                **(headers or {}),
                "X-Client-ID": self.client_id,
                "X-Client-Version": client_version,
            },
        )
        # Only the transport this client made itself takes the fast path: a caller's own
        # transport instance (a subclass, a mock) is honoured by sending through httpx.
        exchange: Exchange = (
            AiohttpExchange(self._http, chosen, headers)
            if transport == "aiohttp" and isinstance(chosen, AiohttpTransport)
            else HttpxExchange(self._http)
        )
        self._sender = RetryingSender(
            exchange,
            policy=retry,
            client_id=self.client_id,
            breaker=self.breaker,
            observer=observer,
        )

    @property
    def base_url(self) -> str:
        """The server root this client talks to."""
        return str(self._http.base_url)

    async def _send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        write: bool = False,
        idempotency_key: str | None = None,
    ) -> Reply:
        """The 2xx response to `method API_PREFIX+path`, sent with retries (see sender.py)."""
        content = None if body is None else msgspec.json.encode(body)
        return await self._sender.send(
            operation,
            method,
            API_PREFIX + path,
            params=params,
            content=content,
            headers=headers,
            write=write,
            idempotency_key=idempotency_key,
        )

    @staticmethod
    def _decode(response: Reply, type_: type[T]) -> T:
        """The response body as `type_`; raises ProtocolError when it does not match."""
        try:
            return msgspec.json.decode(response.content, type=type_)
        except msgspec.DecodeError as exc:
            raise ProtocolError(
                f"{response.method} {response.url} answered a body that is not "
                f"a valid {getattr(type_, '__name__', type_)} ({exc}); check that client and "
                "server speak the same protocol version"
            ) from exc

    async def aclose(self) -> None:
        """Close the connection pool; the client is unusable afterwards."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
