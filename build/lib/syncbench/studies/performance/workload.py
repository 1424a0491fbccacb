"""The seeded workload: task texts and batch items, drawn before the clock starts."""

from __future__ import annotations

import random

from tasksync.models import SyncItem, SyncTaskFields

_VERBS = ("write", "review", "fix", "plan", "test", "ship", "measure", "document")
_NOUNS = ("report", "release", "budget", "schema", "backlog", "dashboard", "invoice")
_PRIORITIES = ("low", "medium", "high")


def task_contents(rng: random.Random, count: int, prefix: str) -> list[str]:
    """`count` seeded task texts (drawn before the load starts, so workers need no rng)."""
    return [
        f"{prefix} {rng.choice(_VERBS)} the {rng.choice(_NOUNS)} #{rng.randrange(10**6)}"
        for _ in range(count)
    ]


def batch_items(rng: random.Random, size: int, prefix: str) -> list[SyncItem]:
    """`size` new-task batch items with seeded contents and unique change ids."""
    contents = task_contents(rng, size, prefix)
    return [
        SyncItem(
            change_id=f"{prefix}:{n}",
            task_id=f"{prefix}-{n}",
            task=SyncTaskFields(content=contents[n], priority=rng.choice(_PRIORITIES)),
        )
        for n in range(size)
    ]


__all__ = ["batch_items", "task_contents"]
