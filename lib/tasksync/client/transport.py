"""The HTTP transport under the clients: aiohttp by default, httpx's own on request.

httpx's native async pool is slow with ~32 concurrent tasks, so the default is
httpx_aiohttp's AiohttpTransport. Its exception mapping is lossy, though (checked against
httpx-aiohttp 0.1.x): a refused connection, a reset and a server that closes without
answering all come out as httpx.ConnectTimeout, and a malformed status line escapes as a raw
aiohttp.ClientResponseError. Retry decisions and the observer's outcome names depend on the
exception class, so `AiohttpTransport` here re-translates from the original aiohttp error.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Literal

import aiohttp
import httpx
import httpx_aiohttp

TransportChoice = httpx.AsyncBaseTransport | Literal["aiohttp", "httpx"]

# An idle connection is dropped after 4 s, before a server closes it (uvicorn's default is
# 5 s, ours 30): reused at the moment the server closes it, a request meets "server
# disconnected" with no fault anywhere (the crash study's errors_only_under_faults caught
# it in CI: httpx's and aiohttp's expiry here were 5 s, the server's too).
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100,
                              keepalive_expiry=4.0)

# First match wins, so subclasses come before their bases (every aiohttp connection error is
# also an OSError, and ConnectionTimeoutError is also a ServerTimeoutError).
_TRANSLATION: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientConnectionError, httpx.NetworkError),
    (aiohttp.ClientError, httpx.TransportError),
    (TimeoutError, httpx.TimeoutException),
)


def _aiohttp_origin(exc: BaseException) -> BaseException | None:
    """The aiohttp (or asyncio timeout) error behind `exc`, if there is one."""
    if isinstance(exc, aiohttp.ClientError | TimeoutError):
        return exc
    if isinstance(exc, httpx.TransportError) and isinstance(
        exc.__cause__, aiohttp.ClientError | TimeoutError
    ):
        return exc.__cause__
    return None


def translation(exc: Exception, request: httpx.Request | None) -> httpx.TransportError | None:
    """The httpx exception that names the aiohttp failure `exc` correctly, if it is one.

    Shared with the fast path (exchange.AiohttpExchange), which has no httpx.Request and
    calls this from a plain `except` (no context manager on its hot path).
    """
    origin = _aiohttp_origin(exc)
    if origin is None:
        return None
    for source, target in _TRANSLATION:
        if isinstance(origin, source):
            error = target(str(origin) or type(origin).__name__, request=request)
            error.__cause__ = origin
            return error
    return None  # pragma: no cover - the last row catches every ClientError


@contextlib.contextmanager
def translated(request: httpx.Request) -> Iterator[None]:
    """Re-raise aiohttp failures as the httpx exception that names them correctly."""
    try:
        yield
    except Exception as exc:
        error = translation(exc, request)
        if error is None:
            raise
        raise error from error.__cause__


class _TranslatedStream(httpx.AsyncByteStream):
    """A response body whose read failures surface as correctly named httpx exceptions."""

    def __init__(self, stream: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with translated(self._request):
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with translated(self._request):
            await self._stream.aclose()


class AiohttpTransport(httpx_aiohttp.AiohttpTransport):
    """httpx_aiohttp's transport, raising the httpx exception that matches what happened.

    It also never resends on its own: every attempt the network sees is one the caller's
    retry loop made, and so one the observer records.
    """

    def get_client(self) -> aiohttp.ClientSession:
        session = super().get_client()
        # aiohttp silently resends GET/PUT/DELETE once after a reset or disconnect (aiohttp
        # 3.x, private flag, no public switch). Hidden resends would make retry counts and
        # latencies in the studies wrong, so they are turned off here.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with translated(request):
            response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _TranslatedStream(response.stream, request)
        return response


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """One default (verifying) SSL context for every client: building one reads the system
    CA store, ~30 ms of CPU, which 800 clients made in a row paid 800 times."""
    return httpx.create_ssl_context()


def make_transport(
    choice: TransportChoice, limits: httpx.Limits = DEFAULT_LIMITS
) -> httpx.AsyncBaseTransport:
    """The transport for `choice`: a given transport as is, or a new aiohttp/httpx one."""
    if isinstance(choice, httpx.AsyncBaseTransport):
        return choice
    if choice == "aiohttp":
        return AiohttpTransport(limits=limits, verify=default_ssl_context())
    if choice == "httpx":
        return httpx.AsyncHTTPTransport(limits=limits, verify=default_ssl_context())
    raise ValueError(f"transport must be 'aiohttp', 'httpx' or an httpx transport, not {choice!r}")
