"""The seeded workload: the same seed gives the same texts and batch items."""

from __future__ import annotations

import random

from syncbench.studies.performance import batch_items, task_contents


def test_workload_is_seeded() -> None:
    assert task_contents(random.Random(3), 20, "p") == task_contents(random.Random(3), 20, "p")
    assert task_contents(random.Random(3), 20, "p") != task_contents(random.Random(4), 20, "p")
    first, again = batch_items(random.Random(5), 50, "b"), batch_items(random.Random(5), 50, "b")
    assert first == again
    assert len({item.change_id for item in first}) == 50
    assert all(item.base_version == 0 for item in first)
    assert all(item.task_id.startswith("b-") for item in first)

