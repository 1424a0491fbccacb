"""The clients' seeded plan and the large task's key."""

from __future__ import annotations

from syncbench.studies.resilience.workload import plan_requests, task_key


def test_workload_is_the_same_for_the_same_seed_and_client() -> None:
    first = plan_requests(7, "client-1", 50)
    assert first == plan_requests(7, "client-1", 50)
    assert first != plan_requests(8, "client-1", 50)
    assert first != plan_requests(7, "client-2", 50)


def test_workload_creates_first_and_gives_every_create_a_unique_key() -> None:
    steps = plan_requests(3, "c", 200, update_share=0.4, think_seconds=0.1)
    assert steps[0].kind == "create"
    keys = [step.key for step in steps if step.kind == "create"]
    assert len(keys) == len(set(keys))
    assert all(key.startswith("c-") for key in keys)
    assert 0.2 < sum(step.kind == "update" for step in steps) / len(steps) < 0.6
    assert all(0.05 <= step.pause <= 0.15 for step in steps)


def test_task_key_strips_the_padding_of_a_large_task() -> None:
    assert task_key({"content": "bulk-1|xxxx"}) == "bulk-1"
    assert task_key({"content": "client-1-3"}) == "client-1-3"
    assert task_key({}) is None
