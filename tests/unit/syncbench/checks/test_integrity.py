"""response_integrity: a reply carrying another task, repository or client's write fails."""

from __future__ import annotations

from typing import Any

import pandas as pd

from syncbench.checks import response_integrity


def reply(op_id: int, client: str, operation: str, kind: str, repository: str,
          requested: str | None, task: str, task_repository: str | None = None,
          **extra: Any) -> dict[str, Any]:
    return {"op_id": op_id, "client": client, "operation": operation, "kind": kind,
            "repository": repository, "requested_task_id": requested, "task_id": task,
            "task_repository": task_repository or repository, "version": 1, "deleted": False,
            "content": "x", "seq": None, "invoke_time": 0.0, "complete_time": 1.0,
            "listing_complete": False, **extra}


def correct() -> list[dict[str, Any]]:
    return [reply(1, "X", "batch", "write", "rx", "a", "a"),
            reply(2, "Y", "batch", "write", "ry", "b", "b"),
            reply(3, "Y", "list", "read", "ry", None, "b"),
            reply(4, "Y", "get", "read", "rx", "a", "a")]


def test_replies_carrying_the_requests_own_task_and_repository_pass() -> None:
    result = response_integrity(pd.DataFrame(correct()))
    assert result.verdict == "pass", result.message
    assert result.observed == "0 mismatches in 4 replied task states (task and repository checked)"


def test_the_issue_10_reply_with_another_repositorys_task_fails_twice() -> None:
    # Y's batch item "b" reused change id "1" and got X's stored result (task a of rx)
    rows = [*correct(), reply(5, "Y", "batch", "write", "ry", "c", "a", "rx")]
    result = response_integrity(pd.DataFrame(rows))
    assert result.verdict == "fail"
    assert [(e["mismatch"], e["row"]["op_id"]) for e in result.counterexample] == [
        ("task_mismatch", 5), ("repository_mismatch", 5)]
    assert "asked for c, got a" in result.counterexample[0]["why"]
    assert "1 task_mismatch, 1 repository_mismatch" in result.observed


def test_a_listing_with_another_repositorys_task_fails() -> None:
    rows = [*correct(), reply(6, "Y", "list", "read", "ry", None, "a", "rx")]
    result = response_integrity(pd.DataFrame(rows))
    assert [e["mismatch"] for e in result.counterexample] == ["repository_mismatch"]


def test_a_server_id_create_answered_with_another_clients_task_fails() -> None:
    rows = [{**row, "origin": row["client"]} for row in correct()]
    fresh = reply(7, "Y", "create", "write", "rx", None, "srv-9", origin="X")
    named = reply(8, "Y", "create", "write", "rx", "a", "a", origin="X")  # id collision: legal
    read = reply(9, "Y", "get", "read", "rx", "a", "a", origin="X")
    result = response_integrity(pd.DataFrame([*rows, fresh, named, read]))
    assert [(e["mismatch"], e["row"]["op_id"]) for e in result.counterexample] == [
        ("foreign_origin", 7)]
    assert "task, repository and origin checked" in result.observed
    own = {**fresh, "origin": "Y"}
    assert response_integrity(pd.DataFrame([*rows, own])).verdict == "pass"


def test_a_client_id_column_names_the_requester_for_origin() -> None:
    fresh = reply(7, "Y", "create", "write", "rx", None, "srv-9", origin="id-y", client_id="id-y")
    assert response_integrity(pd.DataFrame([fresh])).verdict == "pass"
    other = {**fresh, "origin": "id-x"}
    assert response_integrity(pd.DataFrame([other])).verdict == "fail"


def test_no_replies_is_unknown() -> None:
    assert response_integrity(pd.DataFrame()).verdict == "unknown"
