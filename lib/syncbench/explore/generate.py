"""The operation schedule of a generated run: `generate(params, seed) -> list[dict]`, pure.

Each op is a plain JSON dict `{"step", "client", "op", "kind", "pause", ...args}`, in the
order generated; a client's ops run in that order, clients run concurrently (see driver.py).
`kind` is the weight that chose it (weights.py), `op` the request the driver makes, `pause`
the seconds the client waits before it.

Tasks are named the way a real client knows them, and resolved at run time by the driver:
`{"task_id": "c0-7"}` an id the client chose (or one from the pool every client draws from,
to collide), `{"task_of": 12}` the id the server gave this client's create at step 12,
`{"pick": 0.42}` the pick-th of the tasks the client has seen so far (created, read, listed,
pulled), as the sync study's `pick`; replicas pick among their live tasks, or name a task
by its content key (`key_of`). Versions (`if_match`, `base_version`) and positions (`at`:
zero, first, middle, last, beyond, max) are words the driver turns into numbers from what
the client has seen, so a replayed or shrunk schedule means the same thing.

CLI replicas' ops (`k0`, ... `tasksync` commands) are made by cli_schedule.py.

Content starts with a key unique to its logical create (`c0.12`, `c0.12.3` for a batch item,
`r1.40` for a replica), which updates keep (`content_suffix` replaces the rest), so the
duplicate check can tell one logical task from another.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncbench.explore.cli_schedule import CliSchedule
from syncbench.explore.weights import (
    CLI_REPLICA,
    CLIENT,
    KINDS,
    REPLICA,
    SUBSCRIBER,
    resolve_weights,
    role_of_kind,
)
from syncbench.study import StudyParamError
from tasksync.models import MAX_CONTENT_CHARS, MAX_ID_CHARS, MAX_SEQ, STRATEGIES

STATUSES = ("pending", "in_progress", "completed", "cancelled")
PRIORITIES = ("low", "medium", "high")
WORDS = ("draft", "review", "ship", "fix", "call", "plan", "test", "write")
# One instant many items share: equal client clocks, the tie last_write_wins must break.
EQUAL_TIME = "2030-01-01T00:00:00.000000Z"
UPDATED_AT = ("clock", "clock", EQUAL_TIME, "", "2000-01-01T00:00:00Z",
              "2999-12-31T23:59:59.999999+00:00")
CHANGE_POSITIONS = ("zero", "first", "middle", "last", "last", "beyond", "max")
SUBSCRIBE_POSITIONS = ("zero", "first", "middle", "last", "beyond", "max")
COLLIDING_IDS = 6  # the pool of ids every client may choose: small, so they collide
MAX_TRIES = 60


@dataclass(frozen=True)
class Shape:
    """What a generated run is made of (read from the study's params by `shape_of`)."""

    clients: int = 3
    replicas: int = 3
    subscribers: int = 2
    cli_replicas: int = 0          # `tasksync` CLI processes (the sync study: 1), spread as replicas
    repositories: int = 2          # HTTP clients use all of these (at least 2)
    replica_repositories: int = 1  # replicas are spread round-robin over the first ones
    operations: int = 600
    think_s: float = 0.02
    strategy: str = "server_wins"  # what replicas sync with
    weights: Mapping[str, float] = field(default_factory=dict)


def shape_of(params: Any) -> Shape:
    """The Shape a params object (SyncParams, or anything with those names) gives."""
    replica_repositories = int(getattr(params, "repositories", 1))
    return Shape(
        clients=int(getattr(params, "http_clients", Shape.clients)),
        replicas=int(getattr(params, "replicas", Shape.replicas)),
        subscribers=int(getattr(params, "subscribers", Shape.subscribers)),
        cli_replicas=int(getattr(params, "cli_replicas", Shape.cli_replicas)),
        repositories=max(2, replica_repositories),
        replica_repositories=replica_repositories,
        operations=int(getattr(params, "generated_operations", Shape.operations)),
        think_s=float(getattr(params, "think_s", Shape.think_s)),
        strategy=str(getattr(params, "strategy", Shape.strategy)),
        weights=dict(getattr(params, "weights", None) or {}))


def repository_names(shape: Shape) -> tuple[str, ...]:
    """Every repository a generated run touches, in order."""
    return tuple(f"tasks-{index}" for index in range(shape.repositories))


def replica_repository(shape: Shape, index: int) -> str:
    """The repository replica `index` holds."""
    return f"tasks-{index % max(1, shape.replica_repositories)}"


def cli_repository(shape: Shape, index: int) -> str:
    """The repository CLI replica `index` holds (spread as replicas are)."""
    return replica_repository(shape, index)


def client_names(shape: Shape) -> dict[str, list[str]]:
    """The clients of each role: c0.. (HTTP), r0.. (replicas), s0.. (subscribers), k0..
    (CLI replicas)."""
    return {CLIENT: [f"c{i}" for i in range(shape.clients)],
            REPLICA: [f"r{i}" for i in range(shape.replicas)],
            SUBSCRIBER: [f"s{i}" for i in range(shape.subscribers)],
            CLI_REPLICA: [f"k{i}" for i in range(shape.cli_replicas)]}


def generate(params: Any, seed: int) -> list[dict[str, Any]]:
    """The operation schedule for `params` (see `shape_of`) and `seed`: same in, same out."""
    shape = params if isinstance(params, Shape) else shape_of(params)
    return _Generator(shape, seed).run()


@dataclass
class _Known:
    """A task an HTTP client can name, as the generator tracks it."""

    ref: dict[str, Any]
    repository: str
    deleted: bool = False


@dataclass
class _ClientState:
    tasks: list[_Known] = field(default_factory=list)
    own_ids: list[tuple[str, str]] = field(default_factory=list)  # (id, repository)
    writes: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    change_numbers: dict[str, int] = field(default_factory=dict)  # repository -> last used
    counted_keys: int = 0


STORM_RESUMES = 8  # replays in one resume_storm
REPLAY_WRITES = (3, 6)  # creates sent one after another while a replay runs
STORM_PAUSE_S = (0.05, 0.2)  # how long each of its connections lives before the next


class _Generator(CliSchedule):
    def __init__(self, shape: Shape, seed: int) -> None:
        self.shape = shape
        self.rng = random.Random(seed)
        self.weights = resolve_weights(shape.weights)
        self.repositories = repository_names(shape)
        self.clients = client_names(shape)
        self.ops: list[dict[str, Any]] = []
        self.state = {name: _ClientState() for name in self.clients[CLIENT]}
        self.replica_repo = {name: replica_repository(shape, index)
                             for index, name in enumerate(self.clients[REPLICA])}
        self.shared_key: dict[str, str] = {}  # repository -> content key of its shared task
        self.new_ids = 0  # client-chosen ids made so far
        self._cli_init(self.clients[CLI_REPLICA],
                       {name: cli_repository(shape, index)
                        for index, name in enumerate(self.clients[CLI_REPLICA])})
        kinds = [kind for kind, weight in self.weights.items()
                 if weight > 0 and self.clients[role_of_kind(kind)]]
        if not kinds:
            raise StudyParamError("weights", dict(shape.weights),
                                  "a weight above 0 for a kind whose role has clients "
                                  f"({shape.clients} HTTP clients, {shape.replicas} replicas, "
                                  f"{shape.cli_replicas} CLI replicas, "
                                  f"{shape.subscribers} subscribers)")
        self.kinds = kinds
        self.kind_weights = [self.weights[kind] for kind in kinds]
        self.makers: dict[str, Callable[[str], list[dict[str, Any]] | None]] = {
            kind: getattr(self, f"_{kind}") for kind in KINDS}

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> list[dict[str, Any]]:
        while len(self.ops) < self.shape.operations:
            for _ in range(MAX_TRIES):
                kind = self.rng.choices(self.kinds, self.kind_weights)[0]
                client = self.rng.choice(self.clients[role_of_kind(kind)])
                made = self.makers[kind](client)
                if made:
                    break
            else:
                raise StudyParamError("weights", dict(self.shape.weights),
                                      "weights that let a workload start: some weight on a "
                                      "kind that needs no earlier op (create, batch, "
                                      "local_create, subscribe, ...)")
            for op in made:
                self._emit(kind, client, op)
        self._spread_subscribers()
        return self.ops

    def _emit(self, kind: str, client: str, op: dict[str, Any]) -> None:
        pause = (round(self.rng.expovariate(1 / self.shape.think_s), 4)
                 if self.shape.think_s > 0 else 0.0)
        # the same dict, completed in place: the state above holds references to it
        emitted = {"step": len(self.ops), "client": client, "op": op.pop("op"), "kind": kind,
                   "pause": pause, **op}
        op.clear()
        op.update(emitted)
        self.ops.append(op)

    def _spread_subscribers(self) -> None:
        """Subscribers' pauses spread their cycles over the writers' expected run time."""
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        for op in self.ops:
            totals[op["client"]] = totals.get(op["client"], 0.0) + op["pause"]
            counts[op["client"]] = counts.get(op["client"], 0) + 1
        writers = [totals[c] + 0.005 * counts[c] for c in totals
                   if c not in self.clients[SUBSCRIBER]]
        span = max(writers, default=1.0)
        for subscriber in self.clients[SUBSCRIBER]:
            mine = [op for op in self.ops if op["client"] == subscriber]
            for op in mine:
                # a storm's resumes follow each other at once
                op["pause"] = (round(self.rng.uniform(*STORM_PAUSE_S), 4) if op.get("storm")
                               else round(self.rng.uniform(0, 1.6 * span / len(mine)), 4))

    # -- helpers ----------------------------------------------------------------------------

    @property
    def step(self) -> int:
        """The step the next emitted op gets."""
        return len(self.ops)

    def _fields(self) -> dict[str, str]:
        return {"status": self.rng.choice(STATUSES), "priority": self.rng.choice(PRIORITIES)}

    def _content(self, key: str) -> str:
        return f"{key} {self.rng.choice(WORDS)}"

    def _repository(self) -> str:
        return self.rng.choice(self.repositories)

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
        self.state[client].tasks.append(_Known(ref, repository))
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
        self.state[client].tasks.append(_Known({"task_id": task_id}, repository))
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

    def _items(self, client: str, repository: str, *, equal: bool) -> list[dict[str, Any]]:
        known = any(task.repository == repository for task in self.state[client].tasks)
        items = []
        for index in range(self.rng.randint(1, 5)):
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
            items += self._items(client, repository, equal=True)
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

    # -- replicas -------------------------------------------------------------------------------

    def _local_create_op(self, replica: str) -> dict[str, Any]:
        key = f"{replica}.{self.step}"
        self.shared_key.setdefault(self.replica_repo[replica], key)
        return {"op": "local_create", "key": key, **self._fields()}

    def _local_update_op(self, replica: str) -> dict[str, Any]:
        return {"op": "local_update", "pick": round(self.rng.random(), 4),
                "content_suffix": f"v{self.step}", **self._fields()}

    def _local_create(self, replica: str) -> list[dict[str, Any]]:
        return [self._local_create_op(replica)]

    def _local_update(self, replica: str) -> list[dict[str, Any]]:
        return [self._local_update_op(replica)]

    def _local_delete(self, replica: str) -> list[dict[str, Any]]:
        return [{"op": "local_delete", "pick": round(self.rng.random(), 4)}]

    def _shared_edit(self, replica: str) -> list[dict[str, Any]] | None:
        key = self.shared_key.get(self.replica_repo[replica])
        if key is None:
            return None
        return [{**self._local_update_op(replica), "key_of": key}]

    def _sync(self, replica: str) -> list[dict[str, Any]]:
        return [{"op": "sync", "strategy": self.shape.strategy}]

    def _offline_burst(self, replica: str) -> list[dict[str, Any]]:
        """Offline, several local writes (a sync attempt fails meanwhile), online, sync."""
        ops: list[dict[str, Any]] = [{"op": "offline"}]
        writes = self.rng.randint(4, 10)
        failing_sync_at = self.rng.randrange(writes)
        for index in range(writes):
            roll = self.rng.random()
            # steps are assigned on emission: count the ones made so far in this burst
            offset = len(ops)
            key = f"{replica}.{self.step + offset}"
            if roll < 0.35:
                self.shared_key.setdefault(self.replica_repo[replica], key)
                ops.append({"op": "local_create", "key": key, **self._fields()})
            elif roll < 0.9:
                ops.append({"op": "local_update", "pick": round(self.rng.random(), 4),
                            "content_suffix": f"v{self.step + offset}", **self._fields()})
            else:
                ops.append({"op": "local_delete", "pick": round(self.rng.random(), 4)})
            if index == failing_sync_at:
                ops.append({"op": "sync", "strategy": self.shape.strategy})
        ops += [{"op": "online"}, {"op": "sync", "strategy": self.shape.strategy}]
        return ops

    # -- subscribers ----------------------------------------------------------------------------

    def _subscribe(self, subscriber: str) -> list[dict[str, Any]]:
        repositories = (list(self.repositories) if self.rng.random() < 0.6
                        else [self._repository()])
        return [{"op": "subscribe", "repositories": repositories,
                 "at": self.rng.choice(SUBSCRIBE_POSITIONS)}]

    def _resume(self, subscriber: str) -> list[dict[str, Any]]:
        return [{"op": "resume"}]

    def _resume_storm(self, subscriber: str) -> list[dict[str, Any]]:
        """Replays one after another while the writers work: a race on purpose (a write
        committed while the server turns a replay into a live feed). Subscribes from zero
        (the longest replays) alternate with resumes, each connection living a moment, so
        an event lost in the switch is followed by later ones on the same connection."""
        return [{"op": "subscribe", "repositories": list(self.repositories), "at": "zero",
                 "storm": True} if index % 2 == 0 else {"op": "resume", "storm": True}
                for index in range(STORM_RESUMES)]

    def _replay_under_writes(self, subscriber: str) -> list[dict[str, Any]]:
        """The seam between a replay and live delivery, on purpose rather than by luck: a
        subscribe from where the retained log starts (the longest replay, many pages) while
        the subscriber itself creates tasks in that repository, one after another from the
        moment it subscribed. Writes committed while the replay runs must arrive live."""
        key = f"{subscriber}.{self.step}"
        return [{"op": "replay_under_writes", "repository": self._busiest_repository(),
                 "writes": [{"content": self._content(f"{key}.{index}"), **self._fields()}
                            for index in range(self.rng.randint(*REPLAY_WRITES))]}]

    def _busiest_repository(self) -> str:
        """The repository most ops so far named (the first on a tie): the longest replay."""
        named = [op.get("repository") for op in self.ops]
        return max(self.repositories, key=lambda repo: (named.count(repo),
                                                        -self.repositories.index(repo)))

    def _unsubscribe(self, subscriber: str) -> list[dict[str, Any]]:
        return [{"op": "unsubscribe", "repositories": [self._repository()]}]


def op_counts(schedule: list[dict[str, Any]], by: str = "kind") -> dict[str, int]:
    """How many ops of each kind (or `by` another field) a schedule holds, most first."""
    counts: dict[str, int] = {}
    for op in schedule:
        counts[op[by]] = counts.get(op[by], 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


__all__ = ["CHANGE_POSITIONS", "EQUAL_TIME", "MAX_SEQ", "Shape", "cli_repository",
           "client_names", "generate",
           "op_counts", "replica_repository", "repository_names", "shape_of"]
