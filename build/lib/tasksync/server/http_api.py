"""HTTP routes of the tasks API: parse and validate, call the service, render the reply."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TypeVar

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tasksync.clock import parse_rfc3339
from tasksync.models import (
    MAX_REPOSITORY_CHARS,
    REPOSITORY_PATTERN,
    SyncRequest,
    TaskCreate,
    TaskUpdate,
)
from tasksync.server.middleware.responses import header, send_json
from tasksync.server.service import Payload, Reply, TaskService

T = TypeVar("T")
_REPOSITORY = re.compile(REPOSITORY_PATTERN)
_FIELD_AT = re.compile(r"at `([^`]+)`")
_MISSING_FIELD = re.compile(r"(?:missing required|unknown) field `([^`]+)`")
MAX_HEADER_CHARS = 200


class ApiError(Exception):
    """A request the server refuses with a 4xx; rendered as an ErrorBody."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _service(request: Request) -> TaskService:
    return request.app.state.service


async def decode_body(request: Request, model: type[T]) -> T:
    """The request body as `model`, or ApiError 400/422 naming the offending field."""
    return decode_json(await request.body(), model)


def decode_json(body: bytes, model: type[T]) -> T:
    """`body` as `model`, or ApiError 400/422 naming the offending field."""
    try:
        return msgspec.json.decode(body, type=model)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _FIELD_AT.search(text)
        missing = _MISSING_FIELD.search(text)
        field = match.group(1) if match else None
        if missing:
            field = f"{field or '$'}.{missing.group(1)}"
        raise ApiError(422, "validation_error", f"invalid request body: {text}", field) from exc
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_json", f"request body is not valid JSON: {exc}") from exc


def client_id(value: str | None) -> str:
    """The caller's X-Client-ID (or "anonymous"), checked."""
    if value is None:
        return "anonymous"
    if not 0 < len(value) <= MAX_HEADER_CHARS:
        raise ApiError(400, "bad_request", "X-Client-ID must be 1-200 characters", "X-Client-ID")
    return value


def idempotency_key(value: str | None, caller: str) -> str | None:
    """The caller-scoped idempotency key, so two clients can never collide on one key."""
    if value is None:
        return None
    if not 0 < len(value) <= MAX_HEADER_CHARS:
        raise ApiError(400, "bad_request", "Idempotency-Key must be 1-200 characters",
                       "Idempotency-Key")
    return f"{caller}\x00{value}"


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What an idempotency key was first used for: a retry must send the same request."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def if_match(value: str | None) -> int | None:
    if value is None:
        return None
    cleaned = value.strip().removeprefix("W/").strip('"')
    if not cleaned.isdigit() or len(cleaned) > 18:
        raise ApiError(400, "bad_request", "If-Match must be a task version number, e.g. 3",
                       "If-Match")
    return int(cleaned)


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, "bad_request", f"{name} must be an integer from {low} to {high}", name)
    return int(raw)


def repository_param(value: str | None, name: str = "repository") -> str:
    if value is None or len(value) > MAX_REPOSITORY_CHARS or not _REPOSITORY.match(value):
        raise ApiError(
            400, "bad_request",
            f"{name} must be 1-{MAX_REPOSITORY_CHARS} characters of letters, digits, . _ -", name,
        )
    return value


# -- writes: bare ASGI apps -------------------------------------------------------------
# Creates are the hottest path; building Starlette's Request, URL and Response objects
# cost as much as the create's own checks, so write routes read the scope directly.

Operation = Callable[[str], tuple[int, Payload, list]]


class WriteRoute:
    """A write endpoint: reads the body and headers, has the service apply `operation` once
    per idempotency key, sends the reply. Errors raise ApiError like every other route."""

    def __init__(self, operation: Callable[[TaskService, Scope, bytes, str], Operation],
                 uses_body: bool = True):
        self.operation = operation
        self.uses_body = uses_body  # False: the body is read only to fingerprint a keyed call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = client_id(header(scope, b"x-client-id"))
        raw_key = header(scope, b"idempotency-key")
        body = await read_body(receive) if self.uses_body or raw_key is not None else b""
        service: TaskService = scope["app"].state.service
        # The route's own checks (body, If-Match) come before the key's, as they always did.
        try:
            operation = self.operation(service, scope, body, caller)
        except ApiError as exc:
            if exc.field == "$.status" and "status_checked_after_write" in service.bugs:
                await _write_with_default_status(service, scope, body, caller, self.operation)
            raise
        if service.key_scope_bug:
            # seeded bug "idempotency_key_scope": the key alone, whoever sent it, for whatever
            key, used_for = idempotency_key(raw_key, ""), ""
        else:
            key = idempotency_key(raw_key, caller)
            used_for = fingerprint(scope["method"], scope["path"], body) if key else ""
        reply = await service.write(key, used_for, operation)
        if service.answers_500_after_commit():
            # seeded bug "error_after_commit": the write is committed (and its reply stored
            # under its key), then answering it fails: a 500 for a write that was applied
            await send_json(send, 500, b'{"error":"internal_error","message":"unexpected '
                                       b'server error: the reply failed to encode"}')
            return
        await send_reply(send, reply)


async def _write_with_default_status(service: TaskService, scope: Scope, body: bytes,
                                     caller: str, route: Callable[..., Operation]) -> None:
    """Seeded bug "status_checked_after_write": the write goes ahead with the default
    status before the refusal of the unknown one is sent (a 422 for a write applied)."""
    fields = msgspec.json.decode(body)
    if isinstance(fields, dict):
        fields.pop("status", None)
        await service.write("", "", route(service, scope, msgspec.json.encode(fields), caller))


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_reply(send: Send, reply: Reply) -> None:
    await send_json(send, reply.status, reply.body, reply.headers)


def _create(service: TaskService, scope: Scope, body: bytes, caller: str) -> Operation:
    return service.create(decode_json(body, TaskCreate), caller)


def _update(service: TaskService, scope: Scope, body: bytes, caller: str) -> Operation:
    patch = decode_json(body, TaskUpdate)
    version = if_match(header(scope, b"if-match"))
    return service.update(scope["path_params"]["task_id"], patch, version, caller)


def _delete(service: TaskService, scope: Scope, body: bytes, caller: str) -> Operation:
    version = if_match(header(scope, b"if-match"))
    return service.delete(scope["path_params"]["task_id"], version, caller)


def _batch_sync(service: TaskService, scope: Scope, body: bytes, caller: str) -> Operation:
    request = decode_json(body, SyncRequest)
    for index, item in enumerate(request.items):
        # the pattern let it through; a date that does not exist (Feb 30) still fails here
        if item.updated_at and parse_rfc3339(item.updated_at) is None:
            raise ApiError(422, "validation_error", f"invalid request body: updated_at "
                           f"{item.updated_at!r} is not an RFC 3339 time",
                           f"$.items[{index}].updated_at")
    return service.batch_sync(request)


# -- reads ------------------------------------------------------------------------------

async def get_task(request: Request) -> Response:
    task_id = request.path_params["task_id"]
    task = await _service(request).get_task(task_id)
    if task is None:
        raise ApiError(404, "not_found", f"no task with id {task_id}")
    return json_response(200, msgspec.json.encode(task), {"ETag": f'"{task.version}"'})


async def list_tasks(request: Request) -> Response:
    repository = repository_param(request.query_params.get("repository"))
    limit = int_param(request, "limit", 100, 1, 1000)
    after = int_param(request, "page_token", 0, 0, 2**62)
    include_deleted = request.query_params.get("include_deleted", "false").lower()
    if include_deleted not in ("true", "false", "1", "0"):
        raise ApiError(400, "bad_request", "include_deleted must be true or false",
                       "include_deleted")
    page = await _service(request).list_tasks(
        repository, after, limit, include_deleted in ("true", "1")
    )
    return json_response(200, msgspec.json.encode(page))


async def changes(request: Request) -> Response:
    repository = repository_param(request.path_params["repository"])
    after = int_param(request, "after", 0, 0, 2**62)
    limit = int_param(request, "limit", 1000, 1, 10_000)
    page = await _service(request).changes(repository, after, limit)
    return json_response(200, msgspec.json.encode(page))


async def conflicts(request: Request) -> Response:
    repository = repository_param(request.path_params["repository"])
    after = int_param(request, "after", 0, 0, 2**62)
    limit = int_param(request, "limit", 1000, 1, 10_000)
    service = _service(request)
    found = await service.run(lambda: service.store.conflicts(repository, after, limit))
    return json_response(200, msgspec.json.encode({"repository": repository, "conflicts": found}))


async def noop(request: Request) -> Response:
    await request.body()
    return json_response(200, b'{"ok":true}')


create_task = WriteRoute(_create)
batch_sync = WriteRoute(_batch_sync)

# The two exact-path writes every client makes, served by DirectRoutes right after the gates;
# they stay in ROUTES too, so a wrong method on their paths still gets its 405 and Allow.
DIRECT_ROUTES = {("POST", "/api/v1/tasks"): create_task, ("POST", "/api/v1/sync/batch"): batch_sync}

ROUTES = [
    Route("/api/v1/tasks", create_task, methods=["POST"]),
    Route("/api/v1/tasks", list_tasks, methods=["GET"]),
    Route("/api/v1/tasks/{task_id}", get_task, methods=["GET"]),
    Route("/api/v1/tasks/{task_id}", WriteRoute(_update), methods=["PATCH"]),
    Route("/api/v1/tasks/{task_id}", WriteRoute(_delete, uses_body=False),
          methods=["DELETE"]),
    Route("/api/v1/repositories/{repository}/changes", changes, methods=["GET"]),
    Route("/api/v1/repositories/{repository}/conflicts", conflicts, methods=["GET"]),
    Route("/api/v1/sync/batch", batch_sync, methods=["POST"]),
    Route("/api/v1/noop", noop, methods=["POST"]),
]
