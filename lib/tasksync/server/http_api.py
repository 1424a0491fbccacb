"""HTTP routes of the tasks API: parse and validate, call the service, render the reply."""

from __future__ import annotations

import hashlib
import re
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasksync.models import (
    MAX_REPOSITORY_CHARS,
    SyncRequest,
    TaskCreate,
    TaskUpdate,
)
from tasksync.server.service import Reply, TaskService

T = TypeVar("T")
_REPOSITORY = re.compile(rf"^[A-Za-z0-9._-]{{1,{MAX_REPOSITORY_CHARS}}}$")
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


def render(reply: Reply) -> Response:
    return json_response(reply.status, reply.body, reply.headers)


def _service(request: Request) -> TaskService:
    return request.app.state.service


async def decode_body(request: Request, model: type[T]) -> T:
    """The request body as `model`, or ApiError 400/422 naming the offending field."""
    body = await request.body()
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


def client_id(request: Request) -> str:
    value = request.headers.get("x-client-id", "anonymous")
    if not 0 < len(value) <= MAX_HEADER_CHARS:
        raise ApiError(400, "bad_request", "X-Client-ID must be 1-200 characters", "X-Client-ID")
    return value


def idempotency_key(request: Request, caller: str) -> str | None:
    """The caller-scoped idempotency key, so two clients can never collide on one key."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_HEADER_CHARS:
        raise ApiError(400, "bad_request", "Idempotency-Key must be 1-200 characters",
                       "Idempotency-Key")
    return f"{caller}\x00{key}"


async def fingerprint(request: Request) -> str:
    body = await request.body()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{request.method} {request.url.path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def if_match(request: Request) -> int | None:
    value = request.headers.get("if-match")
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
    if value is None or not _REPOSITORY.match(value):
        raise ApiError(
            400, "bad_request",
            f"{name} must be 1-{MAX_REPOSITORY_CHARS} characters of letters, digits, . _ -", name,
        )
    return value


async def _write(request: Request, operation: Any) -> Response:
    caller = client_id(request)
    key = idempotency_key(request, caller)
    reply = await _service(request).write(key, await fingerprint(request) if key else "", operation)
    return render(reply)


# -- routes -----------------------------------------------------------------------------

async def create_task(request: Request) -> Response:
    body = await decode_body(request, TaskCreate)
    return await _write(request, _service(request).create(body, client_id(request)))


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


async def update_task(request: Request) -> Response:
    body = await decode_body(request, TaskUpdate)
    version = if_match(request)
    operation = _service(request).update(
        request.path_params["task_id"], body, version, client_id(request)
    )
    return await _write(request, operation)


async def delete_task(request: Request) -> Response:
    version = if_match(request)
    operation = _service(request).delete(request.path_params["task_id"], version, client_id(request))
    return await _write(request, operation)


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


async def batch_sync(request: Request) -> Response:
    body = await decode_body(request, SyncRequest)
    return await _write(request, _service(request).batch_sync(body))


async def noop(request: Request) -> Response:
    await request.body()
    return json_response(200, b'{"ok":true}')


ROUTES = [
    Route("/api/v1/tasks", create_task, methods=["POST"]),
    Route("/api/v1/tasks", list_tasks, methods=["GET"]),
    Route("/api/v1/tasks/{task_id}", get_task, methods=["GET"]),
    Route("/api/v1/tasks/{task_id}", update_task, methods=["PATCH"]),
    Route("/api/v1/tasks/{task_id}", delete_task, methods=["DELETE"]),
    Route("/api/v1/repositories/{repository}/changes", changes, methods=["GET"]),
    Route("/api/v1/repositories/{repository}/conflicts", conflicts, methods=["GET"]),
    Route("/api/v1/sync/batch", batch_sync, methods=["POST"]),
    Route("/api/v1/noop", noop, methods=["POST"]),
]
