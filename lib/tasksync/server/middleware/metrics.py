"""Counts every HTTP request by route template and status, and times it."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tasksync.server.metrics import ServerMetrics


def route_template(path: str) -> str:
    """A low-cardinality label for `path` (ids replaced by placeholders)."""
    if path.startswith("/api/v1/tasks/"):
        return "/api/v1/tasks/{id}"
    if path.startswith("/api/v1/repositories/"):
        return "/api/v1/repositories/{repo}/" + path.rsplit("/", 1)[-1][:20]
    if path in ("/api/v1/tasks", "/api/v1/sync/batch", "/api/v1/noop", "/health", "/metrics",
                "/openapi.json", "/api/v1/admin/breaker", "/api/v1/admin/faults"):
        return path
    return "other"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = route_template(scope["path"])
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
