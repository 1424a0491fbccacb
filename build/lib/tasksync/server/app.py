"""Builds the ASGI application: routes, WebSocket hub and the middleware stack."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from tasksync.mcp_server.endpoint import PATH as MCP_PATH
from tasksync.mcp_server.endpoint import McpEndpoint
from tasksync.server import admin_api, http_api
from tasksync.server.config import ServerConfig
from tasksync.server.direct_routes import DirectRoutes
from tasksync.server.http_api import ApiError, json_response
from tasksync.server.metrics import ServerMetrics
from tasksync.server.middleware.body_limit import BodyTooLarge, body_refusal
from tasksync.server.middleware.circuit_breaker import CircuitBreaker
from tasksync.server.middleware.gates import Gates
from tasksync.server.middleware.rate_limit import RateLimiter
from tasksync.server.openapi import openapi_document
from tasksync.server.service import TaskService
from tasksync.server.websocket import Hub
from tasksync.store.base import StorageError, StorageTimeout
from tasksync.store.opening import is_postgres, open_store

SKIP_EVERY_NTH_EVENT = 7  # the "skip_event" seeded bug drops one live event in seven


def _error(status: int, code: str, message: str, field: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    body = msgspec.json.encode({"error": code, "message": message, "field": field})
    return json_response(status, body, headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error(exc.status, exc.code, exc.message, exc.field)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = {404: f"no route {request.url.path}; see /openapi.json",
               405: f"{request.method} is not allowed on {request.url.path}; see /openapi.json"}
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette's Allow names only the first route matching the path; a path served by
        # several routes (GET and POST /api/v1/tasks) must list all their methods.
        methods = {method for route in request.app.routes if isinstance(route, Route)
                   and route.path_regex.match(request.url.path) for method in route.methods or ()}
        headers = {**(headers or {}), "Allow": ", ".join(sorted(methods))}
    return _error(exc.status_code, codes.get(exc.status_code, "http_error"),
                  message.get(exc.status_code, str(exc.detail)), headers=headers)


async def _storage_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, StorageTimeout):
        return _error(504, "storage_timeout", f"{exc}; the write may or may not have been"
                      " applied: retry with the same Idempotency-Key", headers={"Retry-After": "1"})
    return _error(503, "storage_unavailable", f"storage failed ({exc}); nothing was written,"
                  " retry after the Retry-After delay", headers={"Retry-After": "1"})


async def _body_too_large(request: Request, exc: Exception) -> Response:
    refusal = body_refusal(request.app.state.config.max_body_bytes)
    return _error(refusal.status, refusal.code, refusal.message)


async def _unexpected(request: Request, exc: Exception) -> Response:
    return _error(500, "internal_error", f"unexpected server error: {type(exc).__name__}")


def create_app(config: ServerConfig) -> Starlette:
    """A ready ASGI app for `config`; storage opens now, the hub attaches on startup."""
    metrics = ServerMetrics()
    store = open_store(config.store, config.db_path, config.log_retention,
                       call_timeout=max(config.storage_timeout, 1.0),
                       start_wait=config.store_wait)
    service = TaskService(store, config.storage_timeout, config.seeded_bugs)
    metrics.count_writes_in_flight(service.writes_in_flight)
    breaker = CircuitBreaker(config.breaker, on_transition=metrics.breaker_transition,
                             skip_half_open="breaker_skips_half_open" in config.seeded_bugs)
    skip_every = SKIP_EVERY_NTH_EVENT if "skip_event" in config.seeded_bugs else 0
    hub = Hub(service, metrics, config.websocket, skip_every=skip_every, bugs=config.seeded_bugs)
    document = msgspec.json.encode(openapi_document(config.enable_fault_injection))

    async def openapi(request: Request) -> Response:
        return json_response(200, document)

    async def websocket(websocket: WebSocket) -> None:
        await hub.serve(websocket)

    # Replicas on a shared database hear of each other's commits through the change feed.
    feed = None
    if is_postgres(config.store):
        from tasksync.server.change_feed import ChangeFeed  # psycopg only when asked for

        feed = ChangeFeed(config.store, service.changes, hub.publish, hub.watches)

    mcp = McpEndpoint()  # bound to the app below: its tool calls go through the app itself

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if feed is not None:
            await feed.start()
        service.attach(asyncio.get_running_loop(), feed.local if feed else hub.publish)
        try:
            async with mcp.running():
                yield
        finally:
            if feed is not None:
                await feed.stop()
            service.close()

    routes = [
        *http_api.ROUTES,
        *admin_api.ROUTES,
        *(admin_api.FAULT_ROUTES if config.enable_fault_injection else []),
        Route("/openapi.json", openapi, methods=["GET"]),
        WebSocketRoute("/ws", websocket),
        Route(MCP_PATH, mcp),
    ]
    handlers = {
        ApiError: _api_error,
        HTTPException: _http_error,
        StorageError: _storage_error,
        BodyTooLarge: _body_too_large,
        Exception: _unexpected,
    }
    middleware = [
        Middleware(Gates, metrics=metrics, max_body_bytes=config.max_body_bytes,
                   limiter=RateLimiter(config.rate_limit), breaker=breaker),
        Middleware(DirectRoutes, routes=http_api.DIRECT_ROUTES, handlers=handlers),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers=handlers)
    mcp.bind(app)
    app.state.config = config
    app.state.service = service
    app.state.metrics = metrics
    app.state.breaker = breaker
    app.state.hub = hub
    app.state.feed = feed
    return app
