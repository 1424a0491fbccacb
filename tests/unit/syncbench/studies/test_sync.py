"""The sync study's pure parts: parameters, the seeded workload, and its own checks."""

from __future__ import annotations

import pandas as pd
import pytest

from syncbench.checks import no_lost_acknowledged_writes
from syncbench.studies.sync import (
    ACK_FIELDS,
    CONFLICT_FIELDS,
    LOG_FIELDS,
    SyncParams,
    acknowledged_changes_applied_or_reported,
    acknowledged_write_operations,
    combine_checks,
    content_key,
    every_local_change_acknowledged,
    plan_workload,
    settle_acknowledged,
)
from syncbench.verdict import CheckResult

# -- parameters ---------------------------------------------------------------------------


def test_defaults_are_valid_and_lists_become_tuples() -> None:
    params = SyncParams(profiles=["lan", "wan"])  # type: ignore[arg-type]
    assert params.profiles == ("lan", "wan")
    assert params.as_dict()["profiles"] == ["lan", "wan"]


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"profiles": []}, "profiles"),
        ({"profiles": ["no-such-profile"]}, "profiles"),
        ({"profiles": ["outage"]}, "profiles"),
        ({"profiles": ["lan", "lan"]}, "profiles"),
        ({"replicas": 0}, "replicas"),
        ({"replicas": 2.5}, "replicas"),
        ({"subscribers": -1}, "subscribers"),
        ({"repositories": 4, "replicas": 3}, "repositories"),
        ({"operations_per_replica": 0}, "operations_per_replica"),
        ({"mix": {"create": 1, "rename": 1}}, "mix"),
        ({"mix": {"update": 1}}, "mix"),
        ({"mix": {"create": -1}}, "mix"),
        ({"sync_every": 0.5}, "sync_every"),
        ({"think_s": -0.1}, "think_s"),
        ({"offline_replicas": 4, "replicas": 3}, "offline_replicas"),
        ({"offline_steps": 0}, "offline_steps"),
        ({"offline_steps": 30, "operations_per_replica": 20}, "offline_steps"),
        ({"subscriber_outage_s": float("nan")}, "subscriber_outage_s"),
        ({"strategy": "manual"}, "strategy"),
        ({"strategy": "coin_flip"}, "strategy"),
        ({"converge_timeout_s": 0}, "converge_timeout_s"),
        ({"delivery_timeout_s": -1}, "delivery_timeout_s"),
        ({"seed": "1"}, "seed"),
        ({"seeded_bug": "gremlins"}, "seeded_bug"),
    ],
)
def test_a_bad_parameter_raises_value_error_naming_it(overrides: dict, parameter: str) -> None:
    with pytest.raises(ValueError, match=rf"^{parameter}:"):
        SyncParams(**overrides)


# -- the seeded workload ------------------------------------------------------------------


def test_the_same_seed_plans_the_same_workload() -> None:
    params = SyncParams(replicas=4, subscribers=3, repositories=2, seed=11)
    assert plan_workload(params) == plan_workload(SyncParams(replicas=4, subscribers=3,
                                                             repositories=2, seed=11))
    assert plan_workload(params) != plan_workload(SyncParams(replicas=4, subscribers=3,
                                                             repositories=2, seed=12))


def test_the_plan_follows_the_parameters() -> None:
    params = SyncParams(replicas=4, subscribers=2, repositories=2, operations_per_replica=12,
                        offline_replicas=2, offline_steps=3, subscriber_outage_s=0.7, seed=3)
    workload = plan_workload(params)
    assert [plan.replica for plan in workload.replicas] == ["r0", "r1", "r2", "r3"]
    assert len({plan.group for plan in workload.replicas}) == 4, "one proxy per replica"
    assert [plan.repository for plan in workload.replicas] == ["tasks-0", "tasks-1"] * 2
    for plan in workload.replicas:
        writes = [step for step in plan.steps if step.action != "sync"]
        assert len(writes) == 12 and writes[0].action == "create"
        assert plan.steps[-1].action != "sync", "the final rounds sync; the plan ends on a write"
        assert [step.index for step in plan.steps] == list(range(len(plan.steps)))
    windows = [plan.offline for plan in workload.replicas if plan.offline]
    assert len(windows) == 2 and all(end - start == 3 for start, end in windows)
    assert [(sub.group, sub.outage_s) for sub in workload.subscribers] == [
        ("subscriber-0", 0.7), ("subscriber-1", 0.7)]


def test_a_mix_without_deletes_plans_no_deletes() -> None:
    workload = plan_workload(SyncParams(mix={"create": 1, "update": 1}, seed=5))
    actions = {step.action for plan in workload.replicas for step in plan.steps}
    assert actions <= {"create", "update", "sync"}


def test_content_key_is_the_first_word() -> None:
    assert content_key("r1.4 v17") == "r1.4" and content_key("r0.0") == "r0.0"


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


def test_combined_checks_pass_only_when_every_scope_passes() -> None:
    good = CheckResult("c", True, "0 bad", "0 bad", "fine")
    bad = CheckResult("c", False, "1 bad", "0 bad", "s0 missed 7", [{"subscriber": "s0"}])
    assert combine_checks("c", {"lan": good, "wan": good}).passed
    combined = combine_checks("c", {"lan": good, "wan": bad})
    assert not combined.passed
    assert combined.observed == "lan: 0 bad; wan: 1 bad"
    assert combined.message == "[wan] s0 missed 7"
    assert combined.counterexample == [{"scope": "wan", "subscriber": "s0"}]
