"""Requests a careless or outdated client sends, and what PROTOCOL.md says each gets.

A generated run's HTTP clients send these now and then (op kind `gate`), through their own
proxy, while everyone else works: a body that is not JSON, a field out of its enum, a batch
item whose `updated_at` is no time, a body over the server's limit, an old client version,
bad query parameters, an X-Client-ID too long, a route that does not exist; and the reads
outside the API (`/health`, `/metrics`, `/openapi.json`); subscribers send WebSocket messages the server
must refuse with an `error` frame while keeping the connection (`WS_PROBES`, op kind
`ws_gate`). Each refusal must carry the
documented status, error code and field, and change nothing: a write probe's content
starts with a key unique to its op, which must never show up in the server's tasks.

    probe = GATE_PROBES["bad_status"]
    answer = await send_probe(http, probe, repository="tasks-0", key="c0.12")
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

CLIENT_VERSION = "1.0.0"
OLD_CLIENT_VERSION = "0.9.0"  # a major the server does not speak: 426
MAX_CLIENT_ID_CHARS = 200


@dataclass(frozen=True)
class GateProbe:
    """One request and the answer PROTOCOL.md documents for it."""

    method: str
    path: Callable[[str], str]                 # repository -> path (and query)
    body: Callable[[str, str, int], bytes | None]  # (repository, key, max body) -> body
    status: int
    error: str | None = None                   # the ErrorBody's `error`
    field: str | None = None                   # the ErrorBody's `field`, when it names one
    headers: Callable[[str], dict[str, str]] | None = None  # client -> headers (default ones)
    writes: bool = False                       # would have written, had it been accepted
    shows: str | None = None                   # a 200 body must contain this


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _task(repository: str, key: str, **extra: Any) -> bytes:
    return _json({"repository": repository, "content": f"{key} refused", **extra})


def _batch_item(repository: str, key: str, client: str, updated_at: str) -> bytes:
    return _json({"repository": repository, "client_id": client, "cursor": 0, "items": [{
        "change_id": f"{key}.gate", "task_id": f"{key}-gate", "base_version": 0,
        "updated_at": updated_at,
        "task": {"content": f"{key} refused", "status": "pending", "priority": "low",
                 "deleted": False}}]})


def _oversized(repository: str, key: str, limit: int) -> bytes:
    # a valid create, but one byte over the limit: only its size refuses it
    head = _task(repository, key)
    return head[:-2] + b" " + b"x" * max(0, limit + 1 - len(head)) + head[-2:]


GATE_PROBES: dict[str, GateProbe] = {
    "bad_json": GateProbe("POST", lambda r: "/api/v1/tasks",
                          lambda r, k, _: _task(r, k)[:-1], 400, "bad_json", writes=True),
    "bad_status": GateProbe("POST", lambda r: "/api/v1/tasks",
                            lambda r, k, _: _task(r, k, status="sleeping"), 422,
                            "validation_error", "$.status", writes=True),
    "bad_updated_at": GateProbe("POST", lambda r: "/api/v1/sync/batch",
                                lambda r, k, _: _batch_item(r, k, "gate", "yesterday"), 422,
                                "validation_error", "$.items[0].updated_at", writes=True),
    "body_too_large": GateProbe("POST", lambda r: "/api/v1/tasks", _oversized, 413,
                                "body_too_large", writes=True),
    "old_client": GateProbe("POST", lambda r: "/api/v1/tasks", lambda r, k, _: _task(r, k),
                            426, "client_version_unsupported", writes=True,
                            headers=lambda c: {"X-Client-ID": c,
                                               "X-Client-Version": OLD_CLIENT_VERSION}),
    "long_client_id": GateProbe("POST", lambda r: "/api/v1/tasks",
                                lambda r, k, _: _task(r, k), 400, "bad_request", writes=True,
                                headers=lambda c: {"X-Client-ID": "x" * (MAX_CLIENT_ID_CHARS + 1),
                                                   "X-Client-Version": CLIENT_VERSION}),
    "bad_limit": GateProbe("GET", lambda r: f"/api/v1/tasks?repository={r}&limit=0",
                           lambda r, k, _: None, 400, "bad_request", "limit"),
    "bad_page_token": GateProbe("GET", lambda r: f"/api/v1/tasks?repository={r}&page_token=x",
                                lambda r, k, _: None, 400, "bad_request", "page_token"),
    "bad_after": GateProbe("GET", lambda r: f"/api/v1/repositories/{r}/changes?after=-1",
                           lambda r, k, _: None, 400, "bad_request", "after"),
    "no_route": GateProbe("GET", lambda r: "/api/v1/nowhere", lambda r, k, _: None, 404,
                          "not_found"),
    "health": GateProbe("GET", lambda r: "/health", lambda r, k, _: None, 200,
                        shows='"status":"ok"'),
    "metrics": GateProbe("GET", lambda r: "/metrics", lambda r, k, _: None, 200,
                         shows="tasksync_http_requests_total"),
    "openapi": GateProbe("GET", lambda r: "/openapi.json", lambda r, k, _: None, 200,
                         shows='"/api/v1/sync/batch"'),
}


# WebSocket messages the server must refuse with an `error` frame, keeping the connection
WS_PROBES: dict[str, tuple[str, str]] = {  # name -> (documented error code, the message)
    "ws_bad_message": ("bad_message", '{"type": "subscribe", "repositories": "all of them"}'),
    "ws_unknown_type": ("bad_message", '{"type": "teleport"}'),
    "ws_message_too_large": ("message_too_large",
                             '{"type": "ping", "pad": "' + "x" * 70_000 + '"}'),
}


def ws_answer(name: str, error: str | None, still_open: bool) -> dict[str, Any]:
    """What WebSocket probe `name` got, held to the documented answer (as send_probe's)."""
    documented = WS_PROBES[name][0]
    why = (f"error {error!r}, documented {documented!r}" if error != documented
           else None if still_open else "the connection did not answer a ping after it")
    return {"error": error, "still_open": still_open, "why": why, "as_documented": why is None}


# the order generated runs send them in, round after round: the write probes first (a
# refusal that wrote anyway is the worst answer), so even a short run sends each of them
PROBE_ORDER: tuple[str, ...] = (
    *sorted(name for name, probe in GATE_PROBES.items() if probe.writes),
    *sorted(name for name, probe in GATE_PROBES.items() if not probe.writes))


UNAVAILABLE = 503


async def send_probe(http: httpx.AsyncClient, name: str, *, client: str, repository: str,
                     key: str, max_body_bytes: int) -> dict[str, Any]:
    """Send probe `name` as `client`; what came back: status, error, field, and whether
    it is the documented answer (`as_documented`, `why` when not)."""
    probe = GATE_PROBES[name]
    headers = (probe.headers(client) if probe.headers
               else {"X-Client-ID": client, "X-Client-Version": CLIENT_VERSION})
    body = probe.body(repository, key, max_body_bytes)
    if body is not None:
        headers["Content-Type"] = "application/json"
    response = await http.request(probe.method, probe.path(repository), content=body,
                                  headers=headers)
    answer: dict[str, Any] = {"status": response.status_code, "error": None, "field": None}
    if response.status_code >= 400:
        try:
            error_body = response.json()
        except ValueError:
            error_body = {}
        if isinstance(error_body, dict):
            answer.update(error=error_body.get("error"), field=error_body.get("field"))
    if response.status_code == UNAVAILABLE:
        # PROTOCOL.md: any request may meet 503 while storage fails (a fault): the gate was
        # not reached, so the probe is not held to its documented answer
        answer["unjudged"] = "503: storage unavailable before the gate was reached"
        return answer
    answer["why"] = _differs(probe, answer, response.text)
    answer["as_documented"] = answer["why"] is None
    return answer


def _differs(probe: GateProbe, answer: dict[str, Any], text: str) -> str | None:
    """How `answer` differs from what PROTOCOL.md documents for `probe`; None if it does not."""
    if answer["status"] != probe.status:
        return f"status {answer['status']}, documented {probe.status}"
    if probe.error is not None and answer["error"] != probe.error:
        return f"error {answer['error']!r}, documented {probe.error!r}"
    if probe.field is not None and answer["field"] != probe.field:
        return f"field {answer['field']!r}, documented {probe.field!r}"
    if probe.shows is not None and probe.shows not in text:
        return f"the body does not show {probe.shows!r}"
    return None


__all__ = ["GATE_PROBES", "GateProbe", "PROBE_ORDER", "WS_PROBES", "send_probe", "ws_answer"]
