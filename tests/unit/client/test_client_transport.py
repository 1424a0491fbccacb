"""The aiohttp transport surfaces every network failure as the matching httpx exception."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tasksync.client.transport import AiohttpTransport, make_transport

from .servers import RawServer

# What each misbehaviour must raise; None means "the request succeeds".
EXPECTED: dict[str, type[httpx.TransportError]] = {
    "close": httpx.RemoteProtocolError,  # closed before any answer
    "reset": httpx.ReadError,  # RST
    "partial": httpx.ReadError,  # body cut short
    "garbage": httpx.RemoteProtocolError,  # not HTTP
    "hang": httpx.ReadTimeout,
}


@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
async def test_aiohttp_failures_surface_as_httpx_exceptions(
    raw_server: Callable[[list[str]], Awaitable[RawServer]], behaviour: str
) -> None:
    # The next connection would answer "ok": raising also proves aiohttp did not resend the
    # GET on its own, behind the retry loop's (and the observer's) back.
    server = await raw_server([behaviour, "ok"])
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=0.3) as client:
        with pytest.raises(httpx.TransportError) as caught:
            await client.get(server.url + "/")
    assert type(caught.value) is EXPECTED[behaviour]
    assert server.connections == 1


async def test_refused_connection_is_connect_error(closed_port_url: str) -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=1.0) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(closed_port_url + "/")


async def test_well_behaved_server_answers_through_aiohttp(
    raw_server: Callable[[list[str]], Awaitable[RawServer]],
) -> None:
    server = await raw_server(["ok"])
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=1.0) as client:
        response = await client.get(server.url + "/")
    assert response.json() == {"ok": True}


def test_make_transport_picks_by_name_or_passes_a_transport_through() -> None:
    assert isinstance(make_transport("aiohttp"), AiohttpTransport)
    assert isinstance(make_transport("httpx"), httpx.AsyncHTTPTransport)
    mine = httpx.AsyncHTTPTransport()
    assert make_transport(mine) is mine
    with pytest.raises(ValueError):
        make_transport("curl")  # type: ignore[arg-type]


def test_every_transport_shares_one_verifying_ssl_context() -> None:
    # building a context reads the CA store (~30 ms): 800 clients paid it 800 times. The one
    # they share now still verifies certificates and host names.
    first, second = make_transport("aiohttp"), make_transport("aiohttp")
    assert isinstance(first, AiohttpTransport) and isinstance(second, AiohttpTransport)
    assert first.ssl_context is second.ssl_context
    assert first.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert first.ssl_context.check_hostname
