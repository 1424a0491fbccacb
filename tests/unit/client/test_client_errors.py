"""The exception tree: one documented hierarchy, each reply status mapped to its name."""

from __future__ import annotations

import inspect

import msgspec
import pytest

from tasksync.client import errors
from tasksync.client.errors import error_for_status

from .servers import task_json


def body(code: str, message: str = "do something", **extra: object) -> bytes:
    return msgspec.json.encode({"error": code, "message": message, **extra})


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, errors.BadRequest),
        (404, errors.NotFound),
        (409, errors.IdConflict),
        (412, errors.VersionConflict),
        (413, errors.BadRequest),
        (422, errors.ValidationFailed),
        (426, errors.ClientVersionUnsupported),
        (429, errors.RateLimited),
        (502, errors.ServiceUnavailable),
        (503, errors.ServiceUnavailable),
        (504, errors.ServiceUnavailable),
        (500, errors.HTTPStatusError),
        (401, errors.HTTPStatusError),
    ],
)
def test_each_status_maps_to_its_named_error(status: int, expected: type) -> None:
    error = error_for_status(status, body("code"))
    assert type(error) is expected
    assert error.status_code == status and error.code == "code"


def test_conflicts_carry_the_stored_task() -> None:
    error = error_for_status(412, body("version_mismatch", current=task_json(version=7)))
    assert isinstance(error, errors.VersionConflict)
    assert error.current is not None and error.current.version == 7
    assert "if_match" in str(error)


def test_validation_error_names_the_field() -> None:
    error = error_for_status(422, body("validation_error", "bad status", field="$.status"))
    assert isinstance(error, errors.ValidationFailed)
    assert error.field == "$.status"
    assert "bad status" in str(error)


def test_a_reply_without_error_body_still_maps() -> None:
    error = error_for_status(502, b"<html>Bad Gateway</html>", retry_after=2.0)
    assert isinstance(error, errors.ServiceUnavailable)
    assert error.body is None and error.retry_after == 2.0


def test_every_exception_is_a_tasksync_error_listed_in_the_documented_tree() -> None:
    classes = [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, Exception) and c.__module__ == errors.__name__
    ]
    assert len(classes) >= 15
    doc = errors.__doc__ or ""
    for cls in classes:
        assert issubclass(cls, errors.TaskSyncError)
        assert cls.__name__ in doc, f"{cls.__name__} is missing from the tree in errors.py"


def test_server_unreachable_is_a_transport_error() -> None:
    assert issubclass(errors.ServerUnreachable, errors.TransportError)


def _status(status: int, code: str | None) -> errors.HTTPStatusError:
    return error_for_status(status, body(code) if code else b"")


@pytest.mark.parametrize(
    ("error", "not_applied"),
    [
        (errors.ServerUnreachable("ConnectError: refused"), True),
        (errors.CircuitOpenError(1.0), True),
        (_status(400, "bad_json"), True),
        (_status(404, "not_found"), True),
        (_status(409, "id_conflict"), True),
        (_status(412, "version_mismatch"), True),
        (_status(413, "body_too_large"), True),
        (_status(422, "validation_error"), True),
        (_status(426, "client_version_unsupported"), True),
        (_status(429, "rate_limited"), True),
        (_status(503, "circuit_open"), True),
        (_status(503, "storage_unavailable"), True),
        (_status(503, None), False),  # a proxy's 503: who knows what happened behind it
        (_status(502, None), False),
        (_status(504, "storage_timeout"), False),
        (errors.TransportError("ReadTimeout"), False),
        (errors.ProtocolError("not JSON"), False),
        (errors.RetriesExhausted(1, 0.1, _status(503, "circuit_open"), "max"), True),
        (errors.RetriesExhausted(1, 0.1, errors.TransportError("ReadTimeout"), "max"), False),
        # An earlier attempt may have applied before the last one was refused.
        (errors.RetriesExhausted(3, 0.1, _status(503, "circuit_open"), "max"), False),
    ],
    ids=repr,
)
def test_each_error_says_whether_the_call_certainly_applied_nothing(
    error: errors.TaskSyncError, not_applied: bool
) -> None:
    assert error.definitely_not_applied is not_applied


def test_there_is_one_server_unreachable_for_client_and_replica() -> None:
    from tasksync import errors as shared
    from tasksync.replica import ServerUnreachable as ReplicaUnreachable

    assert issubclass(errors.ServerUnreachable, shared.ServerUnreachable)
    assert issubclass(ReplicaUnreachable, shared.ServerUnreachable)
