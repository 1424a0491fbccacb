"""conditional_writes: If-Match writes apply to the version they name, once."""

from __future__ import annotations

from typing import Any

import pandas as pd

from syncbench.checks import conditional_writes
from syncbench.history import History


def reply(op_id: int, task: str, version: int, content: str) -> dict[str, Any]:
    return {"op_id": op_id, "client": "c", "operation": "update", "kind": "write",
            "repository": "r", "requested_task_id": task, "task_id": task,
            "task_repository": "r", "version": version, "deleted": False, "content": content,
            "seq": None, "invoke_time": 0.0, "complete_time": 1.0, "listing_complete": False}


def correct() -> History:
    history = History()
    history.invoke("c1", "update", task_id="t1", if_match=1, content="a").ok(version=2)  # 1
    history.invoke("c2", "update", task_id="t1", if_match=1, content="b").fail("412")    # 2
    history.invoke("c2", "update", task_id="t1", if_match=2).ok(version=2)  # 3: empty patch
    history.invoke("c2", "update", task_id="t1", content="c").ok(version=3)  # 4: no If-Match
    history.invoke("c1", "delete", task_id="t1", if_match=3).ok(version=4)   # 5
    return history


def test_if_match_writes_on_the_current_version_pass() -> None:
    result = conditional_writes(correct())
    assert result.verdict == "pass", result.message
    assert result.observed == "0 same_base_twice, 0 not_current in 3 acknowledged If-Match writes"


def test_a_write_applied_to_another_version_than_it_named_is_not_current() -> None:
    history = correct()
    history.invoke("c3", "update", task_id="t1", if_match=2, content="d").ok(version=5)  # 6
    result = conditional_writes(history)
    assert [(e["anomaly"], [op["op_id"] for op in e["ops"]]) for e in result.counterexample] == [
        ("not_current", [6])]


def test_a_write_that_changed_nothing_claims_no_base() -> None:
    # seen in a generated run: an update equal to the stored fields kept version 2; a later
    # update on If-Match 2 applied (version 3): both found version 2 current, rightly
    history = History()
    history.invoke("c0", "update", task_id="t1", if_match=2, status="low").ok(version=2)
    history.invoke("c0", "update", task_id="t1", if_match=2, status="done").ok(version=3)
    observations = pd.DataFrame([reply(1, "t1", 2, "x"), reply(2, "t1", 3, "x")])
    assert conditional_writes(history, observations).verdict == "pass"


def test_two_different_writes_on_one_if_match_version_fail_with_both_replies() -> None:
    history = History()
    history.invoke("c1", "update", task_id="t1", if_match=1, content="a").ok(version=2)
    history.invoke("c2", "update", task_id="t1", if_match=1, content="b").ok(version=2)
    observations = pd.DataFrame([reply(1, "t1", 2, "a"), reply(2, "t1", 2, "b")])
    result = conditional_writes(history.to_frame(), observations)
    assert result.verdict == "fail"
    (entry,) = result.counterexample
    assert entry["anomaly"] == "same_base_twice"
    assert [op["reply"]["content"] for op in entry["ops"]] == ["a", "b"]
    # without replies the two look like one application seen twice: no evidence
    assert conditional_writes(history).verdict == "pass"


def test_a_resent_request_seen_twice_with_one_result_passes() -> None:
    history = History()
    history.invoke("c1", "update", task_id="t1", if_match=1, content="a").ok(version=2)
    history.invoke("c1", "update", task_id="t1", if_match=1, content="a").ok(version=2)
    observations = pd.DataFrame([reply(1, "t1", 2, "a"), reply(2, "t1", 2, "a")])
    assert conditional_writes(history, observations).verdict == "pass"


def test_the_reply_row_decides_the_version_when_the_op_has_none() -> None:
    history = History()
    history.invoke("c1", "update", task_id="t1", if_match=1, content="a").ok()
    assert conditional_writes(history).verdict == "unknown"
    result = conditional_writes(history, pd.DataFrame([reply(1, "t1", 7, "a")]))
    assert [e["anomaly"] for e in result.counterexample] == ["not_current"]


def test_no_acknowledged_if_match_write_is_unknown() -> None:
    history = History()
    history.invoke("c1", "update", task_id="t1", content="a").ok(version=2)
    history.invoke("c1", "update", task_id="t1", if_match=1).fail("412")
    assert conditional_writes(history).verdict == "unknown"
