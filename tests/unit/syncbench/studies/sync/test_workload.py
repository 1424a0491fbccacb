"""The seeded workload and the fault schedule it implies."""

from __future__ import annotations

from syncbench.nemesis import parse_schedule
from syncbench.studies.sync import SyncParams, content_key, fault_schedule, plan_workload


def test_the_same_seed_plans_the_same_workload() -> None:
    params = SyncParams(replicas=4, subscribers=3, repositories=2, seed=11)
    assert plan_workload(params) == plan_workload(SyncParams(replicas=4, subscribers=3,
                                                             repositories=2, seed=11))
    assert plan_workload(params) != plan_workload(SyncParams(replicas=4, subscribers=3,
                                                             repositories=2, seed=12))


def test_the_plan_follows_the_parameters() -> None:
    params = SyncParams(replicas=4, subscribers=2, repositories=2, operations_per_replica=12,
                        offline_replicas=2, offline_s=0.3, subscriber_outage_s=0.7, seed=3)
    workload = plan_workload(params)
    assert [plan.replica for plan in workload.replicas] == ["r0", "r1", "r2", "r3"]
    assert len({plan.group for plan in workload.replicas}) == 4, "one proxy per replica"
    assert [plan.repository for plan in workload.replicas] == ["tasks-0", "tasks-1"] * 2
    for plan in workload.replicas:
        writes = [step for step in plan.steps if step.action != "sync"]
        assert len(writes) == 12 and writes[0].action == "create"
        assert plan.steps[-1].action != "sync", "the final rounds sync; the plan ends on a write"
        assert [step.index for step in plan.steps] == list(range(len(plan.steps)))
    offline = [plan for plan in workload.replicas if plan.offline]
    assert len(offline) == 2
    for plan in offline:
        at, duration = plan.offline
        assert duration == 0.3
        assert at + duration <= plan.planned_s + 1e-3, "offline while the replica still works"
    expected_s = max(plan.planned_s for plan in workload.replicas)
    assert [(sub.group, sub.outage_s) for sub in workload.subscribers] == [
        ("subscriber-0", 0.7), ("subscriber-1", 0.7)]
    assert all(0.1 * expected_s - 1e-3 <= sub.outage_at <= 0.5 * expected_s + 1e-3
               for sub in workload.subscribers)


def test_a_mix_without_deletes_plans_no_deletes() -> None:
    workload = plan_workload(SyncParams(mix={"create": 1, "update": 1}, seed=5))
    actions = {step.action for plan in workload.replicas for step in plan.steps}
    assert actions <= {"create", "update", "sync"}


def test_content_key_is_the_first_word() -> None:
    assert content_key("r1.4 v17") == "r1.4" and content_key("r0.0") == "r0.0"


def test_the_schedule_cuts_each_planned_group_off_once_per_profile() -> None:
    params = SyncParams(profiles=("lan", "wan"), replicas=3, subscribers=2,
                        offline_replicas=1, offline_s=0.4, subscriber_outage_s=0.5, seed=2)
    workload = plan_workload(params)
    schedule = fault_schedule(params, workload)
    [offline] = [plan for plan in workload.replicas if plan.offline]
    expected = {(offline.group, *offline.offline)} | {
        (sub.group, sub.outage_at, sub.outage_s) for sub in workload.subscribers}
    for profile in ("lan", "wan"):
        mine = schedule.for_phase(profile)
        assert all(f.kind == "offline" and f.phase == profile for f in mine)
        assert {(f.target, f.at, f.duration) for f in mine} == expected
    assert len(schedule) == 2 * len(expected)
    assert fault_schedule(params, workload) == schedule, "the seed decides the schedule"


def test_no_outage_and_no_offline_replica_means_an_empty_schedule() -> None:
    params = SyncParams(offline_replicas=0, subscriber_outage_s=0)
    assert len(fault_schedule(params, plan_workload(params))) == 0


def test_a_given_schedule_replaces_the_generated_one() -> None:
    given = [{"at": 0.2, "for": 1.0, "fault": "offline", "target": "replica-2", "phase": "wan"}]
    params = SyncParams(schedule=given)  # type: ignore[arg-type]
    assert fault_schedule(params, plan_workload(params)) == parse_schedule(given)
