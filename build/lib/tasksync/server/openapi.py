"""The OpenAPI 3.1 document served at /openapi.json, with schemas taken from the wire types."""

from __future__ import annotations

from typing import Any

import msgspec

from tasksync import __version__
from tasksync.models import (
    ChangePage,
    ClientId,
    Conflict,
    ErrorBody,
    RepositoryName,
    Seq,
    SyncRequest,
    SyncResponse,
    Task,
    TaskCreate,
    TaskId,
    TaskPage,
    TaskUpdate,
)
from tasksync.server.admin_api import FaultSettings

_REF = "#/components/schemas/{name}"
_ERRORS = {
    "400": "Malformed request (bad JSON, query parameter or header)",
    "413": "Body over the server's limit",
    "422": "A field is invalid; `field` names it",
    "426": "X-Client-Version major is not supported",
    "429": "Rate limit; retry after Retry-After",
    "503": "Circuit open or storage unavailable; retry after Retry-After",
    "504": "Storage did not answer in time",
}
_READ_ERRORS = ("400", "426", "429", "503", "504")
_WRITE_ERRORS = tuple(_ERRORS)


def _ref(model: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=model.__name__)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _header(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description,
            "schema": schema}


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


_CLIENT_HEADERS = [
    _header("X-Client-ID", "Caller identity: rate limit key and origin of writes",
            msgspec.json.schema(ClientId)),
    _header("X-Client-Version", "Client semver; major 1 is supported",
            {"type": "string", "pattern": r"^1\.[0-9]+\.[0-9]+$"}),
]
_IDEMPOTENCY = _header("Idempotency-Key", "A retried request with the same key replays the "
                       "stored reply", {"type": "string", "minLength": 1, "maxLength": 200})
_IF_MATCH = _header("If-Match", "The version the edit is based on",
                    {"type": "string", "pattern": r"^[0-9]{1,18}$"})
# The same schemas the wire types carry (models.py defines the names once).
_REPOSITORY = msgspec.json.schema(RepositoryName)
_TASK_ID = msgspec.json.schema(TaskId)
_SEQ = msgspec.json.schema(Seq)


def _operation(
    summary: str,
    responses: dict[str, dict[str, Any]],
    errors: tuple[str, ...],
    parameters: list[dict[str, Any]] | None = None,
    body: type | None = None,
) -> dict[str, Any]:
    all_responses = dict(responses)
    for status in errors:
        all_responses.setdefault(status, _json(_ref(ErrorBody), _ERRORS[status]))
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [*_CLIENT_HEADERS, *(parameters or [])],
        "responses": all_responses,
    }
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": _ref(body)}}}
    return operation


def openapi_document(fault_injection: bool) -> dict[str, Any]:
    """The API description; the fault routes appear only when the server has them."""
    _, components = msgspec.json.schema_components(
        [Task, TaskCreate, TaskUpdate, TaskPage, ChangePage, SyncRequest, SyncResponse, Conflict,
         ErrorBody, FaultSettings],
        ref_template=_REF,
    )
    error = _json(_ref(ErrorBody), "Error")
    paths: dict[str, Any] = {
        "/api/v1/tasks": {
            "post": _operation(
                "Create a task (an existing id with identical fields returns it)",
                {"201": _json(_ref(Task), "Created"), "200": _json(_ref(Task), "Already exists"),
                 "409": {**error, "description": "Id exists with different fields"}},
                _WRITE_ERRORS, [_IDEMPOTENCY], TaskCreate,
            ),
            "get": _operation(
                "List a repository's tasks, in creation order, a page at a time",
                {"200": _json(_ref(TaskPage), "A page of tasks")}, _READ_ERRORS,
                [_query("repository", _REPOSITORY, required=True),
                 _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                 _query("page_token", {"type": "string", "pattern": "^[0-9]{1,18}$"}),
                 _query("include_deleted", {"type": "boolean"})],
            ),
        },
        "/api/v1/tasks/{task_id}": {
            "get": _operation(
                "Get a task (tombstones too)",
                {"200": _json(_ref(Task), "The task"), "404": {**error, "description": "No such task"}},
                _READ_ERRORS, [_path("task_id", _TASK_ID)],
            ),
            "patch": _operation(
                "Update some fields of a task",
                {"200": _json(_ref(Task), "Updated"), "404": {**error, "description": "No such task"},
                 "412": {**error, "description": "If-Match is stale"}},
                _WRITE_ERRORS, [_path("task_id", _TASK_ID), _IF_MATCH, _IDEMPOTENCY], TaskUpdate,
            ),
            "delete": _operation(
                "Delete a task (it becomes a tombstone)",
                {"200": _json(_ref(Task), "The tombstone"),
                 "404": {**error, "description": "No such task"},
                 "412": {**error, "description": "If-Match is stale"}},
                _WRITE_ERRORS, [_path("task_id", _TASK_ID), _IF_MATCH, _IDEMPOTENCY],
            ),
        },
        "/api/v1/repositories/{repository}/changes": {
            "get": _operation(
                "The repository's change log after a seq",
                {"200": _json(_ref(ChangePage), "Events in seq order")}, _READ_ERRORS,
                [_path("repository", _REPOSITORY), _query("after", _SEQ),
                 _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000})],
            ),
        },
        "/api/v1/repositories/{repository}/conflicts": {
            "get": _operation(
                "Conflicts recorded in a repository, in the order they happened",
                {"200": _json({"type": "object", "required": ["repository", "conflicts"],
                               "properties": {"repository": {"type": "string"},
                                              "conflicts": {"type": "array",
                                                            "items": _ref(Conflict)}}},
                              "Conflicts")},
                _READ_ERRORS,
                [_path("repository", _REPOSITORY), _query("after", _SEQ),
                 _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000})],
            ),
        },
        "/api/v1/sync/batch": {
            "post": _operation(
                "Push local changes, resolve conflicts, pull changes after the cursor",
                {"200": _json(_ref(SyncResponse), "Per-item outcomes, conflicts and changes")},
                _WRITE_ERRORS, [_IDEMPOTENCY], SyncRequest,
            ),
        },
        "/api/v1/noop": {
            "post": _operation(
                "Do nothing through the whole middleware stack (benchmark baseline)",
                {"200": _json({"type": "object"}, "ok")}, ("400", "413", "426", "429"),
            ),
        },
        "/api/v1/admin/breaker": {
            "get": _operation(
                "The circuit breaker's state, configuration and transitions",
                {"200": _json({"type": "object", "required": ["state", "transitions"]}, "State")},
                ("400", "426", "429"),
            ),
        },
        "/health": {
            "get": {"summary": "Liveness and storage readiness",
                    "responses": {"200": _json({"type": "object"}, "Healthy"),
                                  "503": _json({"type": "object"}, "Storage not ready")}},
        },
        "/metrics": {
            "get": {"summary": "Prometheus metrics",
                    "responses": {"200": {"description": "Prometheus text format",
                                          "content": {"text/plain": {"schema": {"type": "string"}}}}}},
        },
    }
    if fault_injection:
        settings = _json(_ref(FaultSettings), "Current fault settings")
        paths["/api/v1/admin/faults"] = {
            "get": _operation("Current injected storage faults", {"200": settings},
                              ("400", "426", "429")),
            "post": _operation("Inject storage faults", {"200": settings},
                               ("400", "413", "422", "426", "429"), body=FaultSettings),
            "delete": _operation("Clear injected faults", {"200": settings}, ("400", "426", "429")),
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "tasksync", "version": __version__,
                 "description": "The reference bidirectional task-sync server. See PROTOCOL.md."},
        "paths": paths,
        "components": {"schemas": components},
    }
