"""time_to_stable and replica_matches_server over hand-built writes, syncs and final states."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from syncbench.checks import STABILITY_COLUMNS, replica_matches_server, time_to_stable


def write(op_id: int, task: str, start: float, end: float, repository: str = "r") -> dict[str, Any]:
    return {"op_id": op_id, "client": "c1", "operation": "update", "kind": "write",
            "repository": repository, "requested_task_id": task, "task_id": task,
            "task_repository": repository, "version": 1, "deleted": False, "content": "x",
            "seq": None, "invoke_time": start, "complete_time": end, "listing_complete": False}


def sync(replica: str, time: float, matches: bool, op_id: int = 100,
         repository: str = "r", **extra: Any) -> dict[str, Any]:
    return {"replica": replica, "op_id": op_id, "time": time, "repository": repository,
            "cursor": 0, "matches_server": matches, "differing_tasks": 0 if matches else 1,
            **extra}


def final(holder: str, task: str, content: str = "x", repository: str = "r") -> dict[str, Any]:
    return {"holder": holder, "repository": repository, "task_id": task, "version": 1,
            "deleted": False, "content": content, "status": "pending", "priority": "medium"}


def test_time_to_stable_is_the_last_replicas_first_matching_sync_after_the_write() -> None:
    observations = pd.DataFrame([write(1, "t1", 0, 2), write(2, "t1", 3, 4), write(3, "t2", 0, 1)])
    syncs = pd.DataFrame([sync("a", 3.5, True), sync("a", 5, True), sync("b", 4.5, False),
                          sync("b", 7, True)])
    finals = pd.DataFrame([final(h, t) for h in ("server", "a", "b") for t in ("t1", "t2")])
    frame, check = time_to_stable(observations, syncs, finals)
    assert check.verdict == "pass", check.message
    assert list(frame.columns) == list(STABILITY_COLUMNS)
    by_task = frame.set_index("task_id")
    assert by_task.loc["t1", "time_to_stable_s"] == 3.0    # write done at 4, b matched at 7
    assert by_task.loc["t2", "time_to_stable_s"] == 6.0    # done at 1, a at 3.5, b at 7
    assert set(frame["how"]) == {"sync"}
    assert "median 4.500 s" in check.observed


def test_a_task_alike_everywhere_only_at_the_end_is_stable_by_the_final_state() -> None:
    observations = pd.DataFrame([write(1, "t1", 0, 2)])
    syncs = pd.DataFrame([sync("a", 1, True), sync("a", 6, False)])
    finals = pd.DataFrame([final("server", "t1"), final("a", "t1")])
    frame, check = time_to_stable(observations, syncs, finals)
    assert check.verdict == "pass"
    assert frame.loc[0, "how"] == "final_state" and frame.loc[0, "stable_time"] == 6.0


def test_a_task_the_holders_still_disagree_on_never_became_stable() -> None:
    observations = pd.DataFrame([write(1, "t1", 0, 2), write(2, "t2", 0, 2)])
    syncs = pd.DataFrame([sync("a", 5, False)])
    finals = pd.DataFrame([final("server", "t1"), final("a", "t1", content="old"),
                           final("server", "t2"), final("a", "t2")])
    frame, check = time_to_stable(observations, syncs, finals)
    assert check.verdict == "fail"
    (entry,) = check.counterexample
    assert entry["task_id"] == "t1" and entry["last_write"]["op_id"] == 1
    assert entry["final"]["a"]["content"] == "old"
    assert entry["last_syncs"][0]["time"] == 5
    assert math.isnan(frame.set_index("task_id").loc["t1", "time_to_stable_s"])
    assert check.observed.startswith("1 of 2 tasks never stable")


def test_a_replica_missing_a_task_at_the_end_disagrees() -> None:
    observations = pd.DataFrame([write(1, "t1", 0, 2)])
    finals = pd.DataFrame([final("server", "t1"), final("a", "t0")])
    _, check = time_to_stable(observations, pd.DataFrame([sync("a", 1, True)]), finals)
    assert check.verdict == "fail"
    assert check.counterexample[0]["final"]["a"] is None


def test_time_to_stable_is_unknown_when_no_replica_holds_a_written_repository() -> None:
    observations = pd.DataFrame([write(1, "t1", 0, 2)])
    syncs = pd.DataFrame([sync("a", 3, True, repository="other")])
    frame, check = time_to_stable(observations, syncs, pd.DataFrame([final("server", "t1")]))
    assert frame.empty and check.verdict == "unknown"


def test_a_replica_matching_after_every_sync_passes() -> None:
    result = replica_matches_server(pd.DataFrame([sync("a", 1, True), sync("b", 2, True)]))
    assert result.verdict == "pass"


def test_a_mismatch_with_no_write_in_flight_fails_with_the_sync_row() -> None:
    observations = pd.DataFrame([write(1, "t1", 0, 1), write(2, "t1", 9, 10)])
    syncs = pd.DataFrame([sync("a", 2, True, op_id=50), sync("a", 5, False, op_id=51)])
    result = replica_matches_server(syncs, observations)
    assert result.verdict == "fail"
    assert [(e["replica"], e["time"]) for e in result.counterexample] == [("a", 5)]
    assert "with no write to r in flight since 2.000" in result.counterexample[0]["why"]


def test_a_mismatch_while_another_write_was_in_flight_is_explained() -> None:
    sync_op = {**write(51, "t9", 3, 4.8), "client": "a"}     # the sync's own push
    syncs = pd.DataFrame([sync("a", 2, True, op_id=50), sync("a", 5, False, op_id=51)])
    alone = replica_matches_server(syncs, pd.DataFrame([sync_op]))
    assert alone.verdict == "fail"        # its own push does not explain it
    concurrent = pd.DataFrame([sync_op, write(7, "t1", 4.5, 6)])
    result = replica_matches_server(syncs, concurrent)
    assert result.verdict == "pass"
    assert "1 differed while a write was in flight" in result.observed


def test_a_mismatch_while_another_replica_synced_is_explained_but_not_by_its_own_sync() -> None:
    own = [sync("a", 2, True, op_id=50, started=1.5), sync("a", 5, False, op_id=51, started=4)]
    assert replica_matches_server(pd.DataFrame(own)).verdict == "fail"
    other = sync("b", 4.6, True, op_id=60, started=4.4)     # b pushed while a synced
    assert replica_matches_server(pd.DataFrame([*own, other])).verdict == "pass"
    earlier = sync("b", 3.5, True, op_id=61, started=3)      # b done before a began
    assert replica_matches_server(pd.DataFrame([*own, earlier])).verdict == "fail"


def test_a_sync_that_pushed_without_its_own_comparison_explains_a_mismatch() -> None:
    own = [sync("a", 2, True, op_id=50, started=1.5), sync("a", 5, False, op_id=51, started=4)]
    # b's sync spanned a's but b never compared (the server restarted under it)
    pushed = {"op_id": 60, "repository": "r", "invoke_time": 3.8, "complete_time": 5.5}
    assert replica_matches_server(pd.DataFrame(own), sync_ops=[pushed]).verdict == "pass"
    never_ended = {**pushed, "complete_time": float("nan")}
    assert replica_matches_server(pd.DataFrame(own), sync_ops=[never_ended]).verdict == "pass"
    done_before = {**pushed, "invoke_time": 2.5, "complete_time": 3.0}
    assert replica_matches_server(pd.DataFrame(own), sync_ops=[done_before]).verdict == "fail"
    elsewhere = {**pushed, "repository": "other"}
    assert replica_matches_server(pd.DataFrame(own), sync_ops=[elsewhere]).verdict == "fail"
    # a's own sync op explains nothing
    mine = {**pushed, "op_id": 51}
    assert replica_matches_server(pd.DataFrame(own), sync_ops=[mine]).verdict == "fail"


def test_only_syncs_with_nothing_pending_are_checked() -> None:
    syncs = pd.DataFrame([sync("a", 1, False, pending=2), sync("a", 2, True, pending=0)])
    assert replica_matches_server(syncs).verdict == "pass"
    only_pending = pd.DataFrame([sync("a", 1, False, pending=2)])
    assert replica_matches_server(only_pending).verdict == "unknown"
    assert replica_matches_server(pd.DataFrame()).verdict == "unknown"


def test_without_the_servers_final_state_an_unsynced_task_is_undecided() -> None:
    observations = pd.DataFrame([write(1, "t1", 0, 2)])
    syncs = pd.DataFrame([sync("a", 5, False)])
    frame, check = time_to_stable(observations, syncs, pd.DataFrame([final("a", "t1")]))
    assert frame.loc[0, "how"] == "undecided"
    assert check.verdict == "unknown"
