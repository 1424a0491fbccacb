"""Counts every HTTP request by route template and status, and times it."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from tasksync.server.metrics import ServerMetrics
from tasksync.server.middleware.response_status import track_status


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
        response, send = track_status(scope, send)
        try:
            await self.app(scope, receive, send)
        finally:
            status = 500 if response.status is None else response.status
            self.metrics.requests.record(scope["method"], route_template(scope["path"]), status,
                                         time.perf_counter() - started)
