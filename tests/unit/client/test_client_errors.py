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
