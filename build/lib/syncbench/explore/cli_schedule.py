"""The CLI replicas' ops of a generated schedule (`k0`, `k1`, ...): what `tasksync` commands
a user types, as plain JSON dicts (played by explore/cli_actor.py).

    cli_add       {"key", "content", "status", "priority", "task_id": own id or None}
    cli_edit      {"own", "pick", "by_prefix", "done", "key_of"?, fields to change}
    cli_rm        {"own", "pick", "by_prefix"}
    cli_list      {"all"}
    cli_sync      {"strategy"}
    cli_conflicts {}
    cli_resolve   {"pick", "keep": "local" | "server"}
    cli_watch     {"seconds"}

Kind cli_resolve is a contest as a user meets one: the task replicas share edited, a
manual sync, `conflicts`, then `resolve` of one it listed (cli_edit, cli_sync,
cli_conflicts and cli_resolve ops, in that order).

Tasks are named as a CLI user names them, resolved at run time from the replica's file:
`own` (a task whose content key is this replica's) or pulled, the `pick`-th of those, by
its full id or (`by_prefix`) the shortest prefix no other id shares; `key_of` names the
task replicas share by its content key.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

# Mostly the study's strategy; manual now and then, so that conflicts wait for `resolve`.
OTHER_STRATEGIES = ("manual", "merge", "last_write_wins", "client_wins")
WATCH_SECONDS = (0.5, 0.75, 1.0)

Ops = list[dict[str, Any]] | None


class CliSchedule:
    """The makers of CLI replica ops, one per kind (`_cli_add`, ...), mixed into the
    generator: it provides `rng`, `step`, `shape`, `shared_key`, `_fields`, `_content` and
    `cli_repo` (CLI replica name -> its repository)."""

    rng: random.Random
    shape: Any
    step: int  # the step the next emitted op gets
    shared_key: dict[str, str]
    cli_repo: dict[str, str]
    _fields: Callable[[], dict[str, str]]
    _content: Callable[[str], str]

    def _cli_init(self, names: list[str], repositories: Mapping[str, str]) -> None:
        self.cli_repo = dict(repositories)
        # what each CLI replica did so far: whether it can hold tasks, and conflicts
        self._cli_writes: dict[str, int] = dict.fromkeys(names, 0)
        self._cli_syncs: dict[str, int] = dict.fromkeys(names, 0)

    def _cli_add(self, name: str) -> Ops:
        key = f"{name}.{self.step}"
        self.shared_key.setdefault(self.cli_repo[name], key)
        self._cli_writes[name] += 1
        own_id = f"{name}-{self.step}" if self.rng.random() < 0.3 else None
        return [{"op": "cli_add", "key": key, "content": self._content(key),
                 **self._fields(), "task_id": own_id}]

    def _cli_target(self, name: str) -> dict[str, Any] | None:
        if not self._cli_writes[name] and not self._cli_syncs[name]:
            return None  # nothing added or pulled yet: nothing to name
        return {"own": self.rng.random() < 0.5, "pick": round(self.rng.random(), 4),
                "by_prefix": self.rng.random() < 0.4}

    def _cli_edit(self, name: str) -> Ops:
        target = self._cli_target(name)
        if target is None:
            return None
        op: dict[str, Any] = {"op": "cli_edit", **target, "done": self.rng.random() < 0.2}
        shared = self.shared_key.get(self.cli_repo[name])
        if shared and self.rng.random() < 0.25:
            op["key_of"] = shared
        if not op["done"]:
            fields = {"content_suffix": f"v{self.step}", **self._fields()}
            for field_name in self.rng.sample(sorted(fields), self.rng.randint(1, 3)):
                op[field_name] = fields[field_name]
        self._cli_writes[name] += 1
        return [op]

    def _cli_rm(self, name: str) -> Ops:
        target = self._cli_target(name)
        if target is None:
            return None
        self._cli_writes[name] += 1
        return [{"op": "cli_rm", **target}]

    def _cli_list(self, name: str) -> Ops:
        return [{"op": "cli_list", "all": self.rng.random() < 0.5}]

    def _cli_sync(self, name: str) -> Ops:
        strategy = (self.shape.strategy if self.rng.random() < 0.6
                    else self.rng.choice(OTHER_STRATEGIES))
        self._cli_syncs[name] += 1
        return [{"op": "cli_sync", "strategy": strategy}]

    def _cli_resolve(self, name: str) -> Ops:
        """A contest, as a user meets one: the task replicas share edited (others edit it
        too), a manual sync, `conflicts`, then `resolve` of one listed (when any is)."""
        if not self._cli_syncs[name]:
            return None  # nothing pulled yet: the shared task is not here
        ops: list[dict[str, Any]] = []
        shared = self.shared_key.get(self.cli_repo[name])
        if shared:
            ops.append({"op": "cli_edit", "own": False, "pick": round(self.rng.random(), 4),
                        "by_prefix": False, "done": False, "key_of": shared,
                        "content_suffix": f"v{self.step}"})
            self._cli_writes[name] += 1
        self._cli_syncs[name] += 1
        return [*ops, {"op": "cli_sync", "strategy": "manual"}, {"op": "cli_conflicts"},
                {"op": "cli_resolve", "pick": round(self.rng.random(), 4),
                 "keep": self.rng.choice(("local", "server"))}]

    def _cli_watch(self, name: str) -> Ops:
        return [{"op": "cli_watch", "seconds": self.rng.choice(WATCH_SECONDS)}]


__all__ = ["CliSchedule", "OTHER_STRATEGIES", "WATCH_SECONDS"]
