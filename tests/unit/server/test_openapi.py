"""The published OpenAPI document names ids and repositories exactly as the wire types do."""

from __future__ import annotations

import pytest

from tasksync.models import (
    MAX_CLIENT_ID_CHARS,
    MAX_ID_CHARS,
    MAX_REPOSITORY_CHARS,
    REPOSITORY_PATTERN,
    TASK_ID_PATTERN,
)
from tasksync.replica.checks import check_repository, check_task_id
from tasksync.replica.errors import InvalidTask
from tasksync.server.http_api import ApiError, repository_param
from tasksync.server.openapi import openapi_document


def _parameter(path: str, method: str, name: str) -> dict:
    operation = openapi_document(fault_injection=False)["paths"][path][method]
    (parameter,) = [p for p in operation["parameters"] if p["name"] == name]
    return parameter["schema"]


def test_path_and_query_parameters_carry_the_models_patterns_and_lengths() -> None:
    repository = {"type": "string", "pattern": REPOSITORY_PATTERN, "minLength": 1,
                  "maxLength": MAX_REPOSITORY_CHARS}
    assert _parameter("/api/v1/tasks", "get", "repository") == repository
    assert _parameter("/api/v1/repositories/{repository}/changes", "get", "repository") == repository
    assert _parameter("/api/v1/tasks/{task_id}", "get", "task_id") == {
        "type": "string", "pattern": TASK_ID_PATTERN, "minLength": 1, "maxLength": MAX_ID_CHARS,
    }
    assert _parameter("/api/v1/tasks", "get", "X-Client-ID") == {
        "type": "string", "minLength": 1, "maxLength": MAX_CLIENT_ID_CHARS,
    }


@pytest.mark.parametrize(
    ("name", "accepted"),
    [("repo.a_b-1", True), ("a" * MAX_REPOSITORY_CHARS, True), ("a" * (MAX_REPOSITORY_CHARS + 1), False),
     ("", False), ("repo:a", False), ("repo/a", False)],
)
def test_server_and_replica_accept_the_same_repository_names(name: str, accepted: bool) -> None:
    def server_accepts() -> bool:
        try:
            return repository_param(name) == name
        except ApiError:
            return False

    def replica_accepts() -> bool:
        try:
            return check_repository(name) == name
        except InvalidTask:
            return False

    assert server_accepts() is accepted
    assert replica_accepts() is accepted


@pytest.mark.parametrize(
    ("task_id", "accepted"),
    [("t:1.a_b-2", True), ("a" * MAX_ID_CHARS, True), ("a" * (MAX_ID_CHARS + 1), False),
     ("", False), ("t/1", False)],
)
def test_the_replica_accepts_the_task_ids_the_protocol_does(task_id: str, accepted: bool) -> None:
    try:
        check_task_id(task_id)
    except InvalidTask:
        assert not accepted
    else:
        assert accepted
