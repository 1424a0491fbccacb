"""The HTTP clients' ops of a generated schedule (`c0`, `c1`, ...): creates, reads, edits,
batch syncs and idempotency keys, as plain JSON dicts (played by explore/http_actor.py).

How tasks, versions and positions are named is in generate.py's docstring: what a real
client knows, resolved at run time. Boundary values come on purpose, not by luck: ids that
collide across clients (a small shared pool) and repositories, the longest id the models
allow every 12th client-chosen id, contents of exactly MAX_CONTENT_CHARS, batches whose items
share one `updated_at`, empty batches, change ids and keys reused.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncbench.explore.gates import PROBE_ORDER
from tasksync.models import MAX_CONTENT_CHARS, MAX_ID_CHARS, STRATEGIES

# One instant many items share: equal client clocks, the tie last_write_wins must break.
EQUAL_TIME = "2030-01-01T00:00:00.000000Z"
UPDATED_AT = ("clock", "clock", EQUAL_TIME, "", "2000-01-01T00:00:00Z",
              "2999-12-31T23:59:59.999999+00:00")
CHANGE_POSITIONS = ("zero", "first", "middle", "last", "last", "beyond", "max")
COLLIDING_IDS = 6  # the pool of ids every client may choose: small, so they collide


@dataclass
class Known:
    """A task an HTTP client can name, as the generator tracks it."""

    ref: dict[str, Any]
    repository: str
    deleted: bool = False


@dataclass
class ClientState:
    tasks: list[Known] = field(default_factory=list)
    own_ids: list[tuple[str, str]] = field(default_factory=list)  # (id, repository)
    writes: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    change_numbers: dict[str, int] = field(default_factory=dict)  # repository -> last used
    counted_keys: int = 0


class ClientSchedule:
    """The makers of HTTP client ops, one per kind (`_create`, ...), mixed into the
    generator: it provides `rng`, `step`, `ops`, `repositories`, `state` (client ->
    ClientState), `_fields`, `_content` and `_repository`."""

    rng: random.Random
    step: int  # the step the next emitted op gets
    ops: list[dict[str, Any]]
    repositories: tuple[str, ...]
    state: Mapping[str, ClientState]
    new_ids: int  # client-chosen ids made so far
    _fields: Callable[[], dict[str, str]]
    _content: Callable[[str], str]
    _repository: Callable[[], str]

    def _target(self, client: str, *, live: bool = True,
                repository: str | None = None) -> dict[str, Any]:
        """A task `client` can name: one it made (mostly), else a pick among those it saw."""
        state = self.state[client]
        mine = [task for task in state.tasks if (not live or not task.deleted)
                and (repository is None or task.repository == repository)]
        if mine and self.rng.random() < 0.75:
            known = self.rng.choice(mine)
            return {**known.ref, "repository": known.repository}
        return {"pick": round(self.rng.random(), 4),
                **({"repository": repository} if repository else {})}

    def _mark_deleted(self, client: str, target: Mapping[str, Any]) -> None:
        for task in self.state[client].tasks:
            if all(task.ref.get(k) == target.get(k) for k in task.ref):
                task.deleted = True

    def _new_id(self, client: str) -> str:
        self.new_ids += 1
        if self.new_ids % 12 == 3:  # on purpose, not by luck: the longest id the models allow
            stem = f"{client}-{self.step}-"
            return stem + "x" * (MAX_ID_CHARS - len(stem))
        return f"{client}-{self.step}"

    def _change_id(self, client: str, repository: str) -> str:
        numbers = self.state[client].change_numbers
        numbers[repository] = numbers.get(repository, 0) + 1
        return str(numbers[repository])  # a client counting "1", "2", ... per repository

    def _write(self, client: str, op: dict[str, Any]) -> list[dict[str, Any]]:
        self.state[client].writes.append(op)
        return [op]

    # -- HTTP clients: creates --------------------------------------------------------------

    def _create_op(self, client: str, task_id: str | None, repository: str,
                   **extra: Any) -> list[dict[str, Any]]:
        key = f"{client}.{self.step}"
        op = {"op": "create", "repository": repository, "task_id": task_id,
              "content": self._content(key), **self._fields(), **extra}
        ref = {"task_id": task_id} if task_id else {"task_of": self.step}
        self.state[client].tasks.append(Known(ref, repository))
        if task_id:
            self.state[client].own_ids.append((task_id, repository))
        return self._write(client, op)

    def _create(self, client: str) -> list[dict[str, Any]]:
        return self._create_op(client, None, self._repository())

    def _create_own_id(self, client: str) -> list[dict[str, Any]]:
        return self._create_op(client, self._new_id(client), self._repository())

    def _create_colliding_id(self, client: str) -> list[dict[str, Any]]:
        task_id = f"shared-{self.rng.randrange(COLLIDING_IDS)}"
        return self._create_op(client, task_id, self._repository())

    def _create_other_repository(self, client: str) -> list[dict[str, Any]] | None:
        own = self.state[client].own_ids
        if not own:
            return None
        task_id, repository = self.rng.choice(own)
        others = [repo for repo in self.repositories if repo != repository]
        return self._create_op(client, task_id, self.rng.choice(others))

    def _recreate(self, client: str) -> list[dict[str, Any]] | None:
        """Create again under an id this client made (deleted ones first): a tombstone's id."""
        own = self.state[client].own_ids
        if not own:
            return None
        deleted = {task.ref.get("task_id") for task in self.state[client].tasks if task.deleted}
        chosen = [pair for pair in own if pair[0] in deleted] or own
        task_id, repository = self.rng.choice(chosen)
        return self._create_op(client, task_id, repository)

    def _max_content(self, client: str) -> list[dict[str, Any]]:
        if self.rng.random() < 0.5:
            return self._create_op(client, None, self._repository(),
                                   content_size=MAX_CONTENT_CHARS)
        return self._write(client, {"op": "update", "target": self._target(client),
                                    "content_suffix": f"v{self.step}", "if_match": None,
                                    "content_size": MAX_CONTENT_CHARS})

    # -- HTTP clients: reads ---------------------------------------------------------------

    def _get(self, client: str) -> list[dict[str, Any]]:
        return [{"op": "get", "target": self._target(client, live=False)}]

    def _list(self, client: str) -> list[dict[str, Any]]:
        return [{"op": "list", "repository": self._repository(),
                 "page_size": self.rng.choice((1, 2, 3, 5)),
                 "include_deleted": self.rng.random() < 0.5}]

    def _changes(self, client: str) -> list[dict[str, Any]]:
        return [{"op": "changes", "repository": self._repository(),
                 "at": self.rng.choice(CHANGE_POSITIONS),
                 "limit": self.rng.choice((1, 5, 1000, 1000))}]

    # -- HTTP clients: edits -------------------------------------------------------------

    def _update_op(self, client: str, if_match: str | None) -> list[dict[str, Any]]:
        op: dict[str, Any] = {"op": "update", "target": self._target(client),
                              "if_match": if_match}
        # an edit of one, two or all three fields (which one is random)
        fields = {"content_suffix": f"v{self.step}", **self._fields()}
        for name in self.rng.sample(sorted(fields), self.rng.randint(1, 3)):
            op[name] = fields[name]
        return self._write(client, op)

    def _update(self, client: str) -> list[dict[str, Any]]:
        return self._update_op(client, None)

    def _update_if_match(self, client: str) -> list[dict[str, Any]]:
        return self._update_op(client, "seen")

    def _update_stale(self, client: str) -> list[dict[str, Any]]:
        return self._update_op(client, "stale")

    def _delete_op(self, client: str, if_match: str | None) -> list[dict[str, Any]]:
        target = self._target(client)
        self._mark_deleted(client, target)
        return self._write(client, {"op": "delete", "target": target, "if_match": if_match})

    def _delete(self, client: str) -> list[dict[str, Any]]:
        return self._delete_op(client, None)

    def _delete_if_match(self, client: str) -> list[dict[str, Any]]:
        return self._delete_op(client, self.rng.choice(("seen", "seen", "stale")))

    # -- HTTP clients: batch sync -------------------------------------------------------------

    def _batch_op(self, client: str, repository: str, items: list[dict[str, Any]]
                  ) -> list[dict[str, Any]]:
        op = {"op": "batch", "repository": repository, "items": items,
              "cursor": self.rng.choice(("zero", "seen", "seen", "middle", "last", "beyond")),
              "strategy": self.rng.choice(STRATEGIES),
              "pull_limit": self.rng.choice((10_000, 10_000, 10_000, 1, 0))}
        if items:
            self.state[client].batches.append(op)
        return self._write(client, op)

    def _new_item(self, client: str, repository: str, index: int,
                  updated_at: str) -> dict[str, Any]:
        colliding = self.rng.random() < 0.15
        task_id = (f"shared-{self.rng.randrange(COLLIDING_IDS)}" if colliding
                   else f"{client}-{self.step}.{index}")
        self.state[client].tasks.append(Known({"task_id": task_id}, repository))
        return {"change_id": self._change_id(client, repository), "task_id": task_id,
                "content": self._content(f"{client}.{self.step}.{index}"), **self._fields(),
                "deleted": False, "base_version": 0, "updated_at": updated_at}

    def _edit_item(self, client: str, repository: str, index: int,
                   updated_at: str) -> dict[str, Any]:
        target = self._target(client, repository=repository)
        deleted = self.rng.random() < 0.15
        if deleted:
            self._mark_deleted(client, target)
        return {"change_id": self._change_id(client, repository), "target": target,
                "content_suffix": f"v{self.step}.{index}", **self._fields(),
                "deleted": deleted, "base_version": self.rng.choice(("seen", "seen", "stale", 0)),
                "updated_at": updated_at}

    def _items(self, client: str, repository: str, *, equal: bool,
               first: int = 0) -> list[dict[str, Any]]:
        """1 to 5 items, numbered from `first` (a new item's id and content key are named
        by its number: numbered twice in one batch, two tasks would share a key)."""
        known = any(task.repository == repository for task in self.state[client].tasks)
        items = []
        for index in range(first, first + self.rng.randint(1, 5)):
            updated_at = EQUAL_TIME if equal else self.rng.choice(UPDATED_AT)
            if known and self.rng.random() < 0.55:
                items.append(self._edit_item(client, repository, index, updated_at))
            else:
                items.append(self._new_item(client, repository, index, updated_at))
        return items

    def _batch(self, client: str) -> list[dict[str, Any]]:
        repository = self._repository()
        return self._batch_op(client, repository, self._items(client, repository, equal=False))

    def _equal_timestamps(self, client: str) -> list[dict[str, Any]]:
        repository = self._repository()
        items = self._items(client, repository, equal=True)
        while len(items) < 2:
            items += self._items(client, repository, equal=True, first=len(items))
        return self._batch_op(client, repository, items)

    def _batch_empty(self, client: str) -> list[dict[str, Any]]:
        return self._batch_op(client, self._repository(), [])

    def _batch_resend(self, client: str) -> list[dict[str, Any]] | None:
        """Items of earlier batches sent again, regrouped: a retry after a lost answer."""
        batches = self.state[client].batches
        if not batches:
            return None
        first = self.rng.choice(batches)
        pool = [item for batch in batches if batch["repository"] == first["repository"]
                for item in batch["items"] if "resend" not in item]
        items = self.rng.sample(pool, self.rng.randint(1, min(len(pool), 6)))
        resent = [{"resend": True, **{k: v for k, v in item.items() if k != "resend"}}
                  for item in items]
        return self._batch_op(client, first["repository"], resent)

    def _batch_reused_change_id(self, client: str) -> list[dict[str, Any]] | None:
        """A new change under a change id this client already used in that repository."""
        numbers = self.state[client].change_numbers
        if not numbers:
            return None
        repository = self.rng.choice(sorted(numbers))
        used = str(self.rng.randint(1, numbers[repository]))
        item = (self._edit_item if self.rng.random() < 0.5 else self._new_item)(
            client, repository, 0, self.rng.choice(UPDATED_AT))
        item["change_id"] = used
        return self._batch_op(client, repository, [item])

    # -- HTTP clients: idempotency keys --------------------------------------------------------

    def _retry_write(self, client: str) -> list[dict[str, Any]] | None:
        """An earlier write of this client sent again with its Idempotency-Key."""
        writes = [op for op in self.state[client].writes if op["op"] != "retry"]
        if not writes:
            return None
        original = self.rng.choice(writes)
        # the original's step is only known once emitted; ops are emitted right after making
        step = next(op["step"] for op in self.ops if op is original)
        original.setdefault("key", f"{client}-key-{step}")
        return [{"op": "retry", "of": step, "key": original["key"]}]

    def _shared_key(self, client: str) -> list[dict[str, Any]]:
        """A create keyed "1", "2", ...: a client that counts its keys, as others do too, and
        sometimes starts counting again."""
        state = self.state[client]
        # a reinstalled app counts from 1 again: the same client reuses a key too
        state.counted_keys = 1 if self.rng.random() < 0.25 else state.counted_keys + 1
        return self._create_op(client, None, self._repository(), key=str(state.counted_keys))

    # -- HTTP clients: gates -------------------------------------------------------------------

    def _gate(self, client: str) -> list[dict[str, Any]]:
        """A request PROTOCOL.md refuses, or a read outside the API (explore/gates.py): the
        next of PROBE_ORDER, so that a run sends each before any twice."""
        sent = sum(op["op"] == "gate" for op in self.ops)
        return [{"op": "gate", "probe": PROBE_ORDER[sent % len(PROBE_ORDER)],
                 "repository": self._repository()}]


__all__ = ["CHANGE_POSITIONS", "COLLIDING_IDS", "ClientSchedule", "ClientState", "EQUAL_TIME", "Known",
           "UPDATED_AT"]
