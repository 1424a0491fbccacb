"""One HTTP exchange (request out, status + headers + body back), without retries.

RetryingSender owns retries, the breaker and the observer; an Exchange only sends one
attempt. Two implementations:

- `HttpxExchange` sends through an httpx.AsyncClient: any httpx transport ("httpx", a
  custom or mock transport).
- `AiohttpExchange` is the fast path for the default "aiohttp" transport: it sends
  straight on that transport's aiohttp.ClientSession. Going through httpx's Request and
  Response models costs more than the whole client budget (the HTTPClient target is 70% of
  raw aiohttp; httpx.AsyncClient over aiohttp alone reaches 20-35%). It keeps what the retry
  machinery relies on: base URL, default headers and timeouts are taken from the same
  httpx.AsyncClient, and failures are raised as the same httpx exceptions as
  transport.AiohttpTransport raises (one translation table, `transport.translation`).

Both take a call's `RequestParts` and return a `Reply`: only what the clients read (status,
headers, body, what was sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
import httpx
import yarl
from multidict import CIMultiDict

from tasksync.client.transport import AiohttpTransport, translation

# httpx's defaults that aiohttp sets itself, matching what it can decode and how it pools
# (unless the caller set them: then they are sent as given).
_LEFT_TO_AIOHTTP = frozenset({"accept-encoding", "connection"})


@dataclass(slots=True)
class Reply:
    """A complete HTTP answer; `headers` is case-insensitive."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    method: str
    url: str


@dataclass(slots=True)
class RequestParts:
    """What one logical call sends, before an Exchange prepares it for its attempts."""

    method: str
    path: str
    params: Mapping[str, Any] | None
    content: bytes | None
    headers: Mapping[str, str]


class Prepared(Protocol):
    """A request built once per logical call and sent by every attempt."""

    @property
    def method(self) -> str: ...

    @property
    def url(self) -> Any: ...


class Exchange(Protocol):
    def prepare(self, parts: RequestParts) -> Prepared:
        """The request every attempt of the call sends, built once."""
        ...

    async def send(self, request: Any) -> Reply:
        """One attempt; raises an httpx.TransportError subclass when no answer arrived."""
        ...


class HttpxExchange:
    """Sends through httpx.AsyncClient (any httpx transport)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    def prepare(self, parts: RequestParts) -> httpx.Request:
        return self.http.build_request(
            parts.method,
            parts.path,
            params=parts.params,
            content=parts.content,
            headers=parts.headers,
        )

    async def send(self, request: httpx.Request) -> Reply:
        response = await self.http.send(request)
        return Reply(
            response.status_code,
            response.headers,
            response.content,
            request.method,
            str(request.url),
        )


@dataclass(slots=True)
class AiohttpRequest:
    method: str
    url: str
    target: yarl.URL  # `url` parsed once, for every attempt
    headers: CIMultiDict[str]
    content: bytes | None


def _aiohttp_timeout(timeout: httpx.Timeout) -> aiohttp.ClientTimeout:
    """httpx's timeouts as aiohttp's, mapped as httpx_aiohttp maps them."""
    return aiohttp.ClientTimeout(
        sock_connect=timeout.connect, sock_read=timeout.read, connect=timeout.pool
    )


class AiohttpExchange:
    """The fast path: sends on the AiohttpTransport's own aiohttp.ClientSession.

    Configuration comes from `http` (the httpx.AsyncClient wrapping `transport`), so both
    paths send the same URL, headers and timeouts, and closing `http` closes the session.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        transport: AiohttpTransport,
        given_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._transport = transport
        self._base = str(http.base_url).rstrip("/")
        dropped = _LEFT_TO_AIOHTTP - {k.lower() for k in given_headers or {}}
        self._headers = CIMultiDict(
            (k, v) for k, v in http.headers.items() if k.lower() not in dropped
        )
        self._timeout = _aiohttp_timeout(http.timeout)

    def _session(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop, exactly as the transport does (with
        # aiohttp's hidden resend turned off, see AiohttpTransport.get_client).
        if not isinstance(self._transport.client, aiohttp.ClientSession):
            self._transport.client = self._transport.get_client()
        return self._transport.client

    def prepare(self, parts: RequestParts) -> AiohttpRequest:
        url = self._base + parts.path
        if parts.params:
            # Values are str/int; encoded as httpx encodes them (form style, "+" for spaces).
            url += "?" + urlencode(parts.params)
        merged = self._headers  # never mutated: aiohttp copies the headers it is given
        if parts.headers:
            merged = merged.copy()
            merged.update(parts.headers)
        # The path's segments and the query are already %-escaped: no requoting by yarl.
        return AiohttpRequest(parts.method, url, yarl.URL(url, encoded=True), merged, parts.content)

    async def send(self, request: AiohttpRequest) -> Reply:
        session = self._session()
        try:
            async with session.request(
                request.method,
                request.target,
                headers=request.headers,
                data=request.content,
                allow_redirects=False,
                timeout=self._timeout,
            ) as response:
                body = await response.read()
        except Exception as exc:
            error = translation(exc, None)
            if error is None:
                raise
            raise error from error.__cause__
        return Reply(response.status, response.headers, body, request.method, request.url)
