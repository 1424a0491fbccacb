"""DirectRoutes answers its routes' exceptions exactly as Starlette's stack would."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tasksync.server.direct_routes import DirectRoutes


class Refused(Exception):
    pass


class Direct:
    """A route that sends, raises a handled error, an unhandled one, or fails mid-response."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        mode = scope["query_string"].decode()
        if mode == "refuse":
            raise Refused("no")
        if mode == "crash":
            raise RuntimeError("boom")
        await send({"type": "http.response.start", "status": 201, "headers": []})
        if mode == "late":
            raise Refused("after the response started")
        await send({"type": "http.response.body", "body": b"direct"})


async def refused(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "refused"}, status_code=409)


async def unexpected(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "internal_error"}, status_code=500)


async def routed(request: Request) -> Response:
    return Response(b"router", status_code=200)


@pytest.fixture
def app_and_route() -> tuple[Starlette, Direct]:
    direct = Direct()
    handlers = {Refused: refused, Exception: unexpected}
    app = Starlette(
        routes=[Route("/direct", direct, methods=["POST"]), Route("/direct", routed, methods=["GET"])],
        middleware=[Middleware(DirectRoutes, routes={("POST", "/direct"): direct},
                               handlers=handlers)],
        exception_handlers=handlers,
    )
    return app, direct


def client(app: Starlette, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://app")


async def test_its_routes_are_served_directly_and_others_go_to_the_router(app_and_route) -> None:
    app, direct = app_and_route
    async with client(app) as http:
        assert (await http.post("/direct")).content == b"direct"
        assert (await http.get("/direct")).content == b"router"  # same path, other method
        assert (await http.put("/direct")).status_code == 405
    assert direct.calls == 1


async def test_a_handled_exception_gets_the_same_handler_as_under_the_router(app_and_route) -> None:
    app, _ = app_and_route
    async with client(app) as http:
        response = await http.post("/direct?refuse")
    assert (response.status_code, response.json()) == (409, {"error": "refused"})


async def test_an_unhandled_exception_is_left_to_the_server_error_handler(app_and_route) -> None:
    app, _ = app_and_route
    async with client(app, raise_app_exceptions=False) as http:
        response = await http.post("/direct?crash")
    assert (response.status_code, response.json()) == (500, {"error": "internal_error"})
    async with client(app) as http:  # and it still reaches the server, to be logged
        with pytest.raises(RuntimeError, match="boom"):
            await http.post("/direct?crash")


async def test_an_exception_after_the_response_started_is_not_answered_twice(app_and_route) -> None:
    app, _ = app_and_route
    async with client(app) as http:
        with pytest.raises(Refused):
            await http.post("/direct?late")
