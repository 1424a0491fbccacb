"""The sync study's own checks: acknowledged changes settled, outboxes emptied."""

from __future__ import annotations

import pandas as pd

from syncbench.checks import no_lost_acknowledged_writes
from syncbench.studies.sync.checks import (
    ACK_FIELDS,
    CONFLICT_FIELDS,
    LOG_FIELDS,
    acknowledged_changes_applied_or_reported,
    acknowledged_write_operations,
    every_local_change_acknowledged,
    resume_reached,
    settle_acknowledged,
)
from syncbench.studies.sync.workload import content_key
from syncbench.verdict import CheckResult

# -- checks -------------------------------------------------------------------------------


def _ack(change_id: str, task_id: str, content: str, deleted: bool = False,
         replica: str = "r0") -> dict:
    return dict(zip(ACK_FIELDS, ["lan", replica, "tasks-0", change_id, 9, "ok", 3, "update",
                                 content_key(content), task_id, content, "pending", "medium",
                                 deleted], strict=True))


def _event(seq: int, task_id: str, version: int, content: str, origin: str = "r0",
           deleted: bool = False) -> dict:
    return dict(zip(LOG_FIELDS, ["lan", "tasks-0", seq, "task_updated", task_id, version, origin,
                                 "2026-01-01T00:00:00.000000Z", content, "pending", "medium",
                                 deleted], strict=True))


def _conflict(change_id: str, task_id: str, replica: str = "r0") -> dict:
    return dict(zip(CONFLICT_FIELDS, ["lan", replica, "tasks-0", change_id, task_id, 1,
                                      "server_wins", "server", 1], strict=True))


def test_acknowledged_changes_in_the_log_or_in_conflicts_pass() -> None:
    acks = pd.DataFrame([_ack("r0:1", "t1", "r0.0 v1"), _ack("r0:2", "t2", "r0.1 v2")])
    log = pd.DataFrame([_event(1, "t1", 1, "r0.0"), _event(2, "t1", 2, "r0.0 v1"),
                        _event(3, "t2", 1, "r0.1"), _event(4, "t2", 2, "r1 wins", "r1")])
    conflicts = pd.DataFrame([_conflict("r0:2", "t2")])
    settled = settle_acknowledged(acks, log, conflicts)
    assert list(settled["settled_as"]) == ["applied", "conflict"]
    assert settled["version"].tolist()[0] == 2
    result = acknowledged_changes_applied_or_reported(settled)
    assert result.passed, result.message
    assert result.observed.startswith("0 lost of 2")


def test_an_acknowledged_change_neither_applied_nor_reported_fails_naming_its_ops() -> None:
    acks = pd.DataFrame([_ack("r0:1", "t1", "r0.0 v1"), _ack("r0:7", "t1", "r0.0 v5")])
    log = pd.DataFrame([_event(1, "t1", 1, "r0.0"), _event(2, "t1", 2, "r0.0 v1")])
    settled = settle_acknowledged(acks, log, pd.DataFrame(columns=CONFLICT_FIELDS))
    result = acknowledged_changes_applied_or_reported(settled)
    assert not result.passed
    assert [entry["change_id"] for entry in result.counterexample] == ["r0:7"]
    assert result.counterexample[0]["local_op_id"] == 3
    assert result.counterexample[0]["sync_op_id"] == 9
    assert "r0:7" in result.message


def test_a_tombstone_matches_only_a_deleted_event() -> None:
    acks = pd.DataFrame([_ack("r0:3", "t1", "r0.0", deleted=True)])
    log = pd.DataFrame([_event(1, "t1", 1, "r0.0")])
    settled = settle_acknowledged(acks, log, pd.DataFrame(columns=CONFLICT_FIELDS))
    assert settled["settled_as"].tolist() == ["lost"]
    log = pd.DataFrame([_event(1, "t1", 1, "r0.0"), _event(2, "t1", 2, "r0.0", deleted=True)])
    settled = settle_acknowledged(acks, log, pd.DataFrame(columns=CONFLICT_FIELDS))
    assert settled["settled_as"].tolist() == ["applied"]


def test_acknowledged_writes_feed_the_shared_lost_writes_check() -> None:
    acks = pd.DataFrame([_ack("r0:1", "t1", "r0.0 v1")])
    log = pd.DataFrame([_event(1, "t1", 1, "r0.0"), _event(2, "t1", 2, "r0.0 v1")])
    ops = acknowledged_write_operations(settle_acknowledged(acks, log,
                                                            pd.DataFrame(columns=CONFLICT_FIELDS)))
    assert [(op.op_id, op.task_id, op.version) for op in ops] == [(3, "t1", 2)]
    assert no_lost_acknowledged_writes(ops, {"t1": {"version": 3}}).passed
    rolled_back = no_lost_acknowledged_writes(ops, {"t1": {"version": 1}})
    assert not rolled_back.passed and rolled_back.counterexample[0]["op_id"] == 3


def test_an_empty_outbox_passes_and_a_queued_change_fails() -> None:
    columns = ["profile", "replica", "repository", "change_id", "task_id"]
    assert every_local_change_acknowledged(pd.DataFrame(columns=columns)).passed
    result = every_local_change_acknowledged(
        pd.DataFrame([["wan", "r2", "tasks-0", "r2:5", "t9"]], columns=columns))
    assert not result.passed and "r2:5" in result.message
    assert result.counterexample == [{"profile": "wan", "replica": "r2", "repository": "tasks-0",
                                      "change_id": "r2:5", "task_id": "t9"}]


def test_the_same_replicas_event_is_preferred_then_the_first() -> None:
    acks = pd.DataFrame([_ack("r0:4", "t1", "r0.0 v2")])
    log = pd.DataFrame([_event(5, "t1", 3, "r0.0 v2", "r1"), _event(2, "t1", 2, "r0.0 v2", "r1"),
                        _event(9, "t1", 5, "r0.0 v2", "r0"), _event(7, "t1", 4, "r0.0 v2", "r0")])
    settled = settle_acknowledged(acks, log, pd.DataFrame(columns=CONFLICT_FIELDS))
    assert (settled["seq"].tolist(), settled["version"].tolist()) == ([7], [4])
    other = settle_acknowledged(pd.DataFrame([_ack("r0:4", "t1", "r0.0 v2", replica="r2")]),
                                log, pd.DataFrame(columns=CONFLICT_FIELDS))
    assert other["seq"].tolist() == [2], "someone else's event counts: the first one"


def test_events_of_another_profile_or_repository_settle_nothing() -> None:
    acks = pd.DataFrame([_ack("r0:1", "t1", "r0.0 v1")])
    elsewhere = [{**_event(2, "t1", 2, "r0.0 v1"), "profile": "wan"},
                 {**_event(3, "t1", 2, "r0.0 v1"), "repository": "tasks-1"}]
    settled = settle_acknowledged(acks, pd.DataFrame(elsewhere),
                                  pd.DataFrame([{**_conflict("r0:1", "t1"), "profile": "wan"}]))
    assert settled["settled_as"].tolist() == ["lost"]


def test_settling_many_changes_takes_one_pass() -> None:
    """Ten thousand changes over ten thousand events: indexed, not scanned per change."""
    import time

    count = 10_000
    acks = pd.DataFrame([_ack(f"r0:{n}", f"t{n}", f"r0.{n} v1") for n in range(count)])
    log = pd.DataFrame([_event(n + 1, f"t{n}", 2, f"r0.{n} v1") for n in range(count)])
    started = time.perf_counter()
    settled = settle_acknowledged(acks, log, pd.DataFrame(columns=CONFLICT_FIELDS))
    assert (settled["settled_as"] == "applied").all()
    # a scan per change would be 10^8 comparisons (minutes); one pass takes well under 5 s
    assert time.perf_counter() - started < 5.0


def test_subscribers_cut_off_that_never_reconnected_leave_the_check_unknown() -> None:
    passed = CheckResult("subscribers_saw_every_event", True, "0 of 2 broken", "0 broken")
    failed = CheckResult("subscribers_saw_every_event", False, "1 of 2 broken", "0 broken",
                         "s0 missed 7", [{"subscriber": "s0", "missing": [7]}])
    assert resume_reached(passed, cut_off=True, reconnects=0).verdict == "unknown"
    assert resume_reached(passed, cut_off=True, reconnects=2) is passed
    assert resume_reached(passed, cut_off=False, reconnects=0) is passed, "no cut-off planned"
    assert resume_reached(failed, cut_off=True, reconnects=0) is failed, "a failure stays one"
