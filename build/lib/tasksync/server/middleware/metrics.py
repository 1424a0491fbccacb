"""The route label requests are counted and timed under (see gates.Gates)."""

from __future__ import annotations


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
