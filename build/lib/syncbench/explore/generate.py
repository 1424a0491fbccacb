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

The makers of each role's ops live beside this loop: client_schedule.py (HTTP clients),
replica_schedule.py (replicas and subscribers), cli_schedule.py (CLI replicas: `tasksync`
commands).

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
from syncbench.explore.client_schedule import (
    CHANGE_POSITIONS,
    EQUAL_TIME,
    ClientSchedule,
    ClientState,
)
from syncbench.explore.replica_schedule import STORM_PAUSE_S, ReplicaSchedule
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
from tasksync.models import MAX_SEQ

STATUSES = ("pending", "in_progress", "completed", "cancelled")
PRIORITIES = ("low", "medium", "high")
WORDS = ("draft", "review", "ship", "fix", "call", "plan", "test", "write")
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


class _Generator(ClientSchedule, ReplicaSchedule, CliSchedule):
    def __init__(self, shape: Shape, seed: int) -> None:
        self.shape = shape
        self.rng = random.Random(seed)
        self.weights = resolve_weights(shape.weights)
        self.repositories = repository_names(shape)
        self.clients = client_names(shape)
        self.ops: list[dict[str, Any]] = []
        self.state = {name: ClientState() for name in self.clients[CLIENT]}
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
            if not self._make():
                raise StudyParamError("weights", dict(self.shape.weights),
                                      "weights that let a workload start: some weight on a "
                                      "kind that needs no earlier op (create, batch, "
                                      "local_create, subscribe, ...)")
        self._every_kind_once()
        self._spread_subscribers()
        return self.ops

    def _make(self, kind: str | None = None) -> bool:
        """Make and emit the ops of one step of `kind` (drawn by weight on each try when
        None) for a client drawn from its role; MAX_TRIES tries, as a kind may need an
        earlier op; whether one was made."""
        for _ in range(MAX_TRIES):
            chosen = kind or self.rng.choices(self.kinds, self.kind_weights)[0]
            client = self.rng.choice(self.clients[role_of_kind(chosen)])
            made = self.makers[chosen](client)
            if made:
                for op in made:
                    self._emit(chosen, client, op)
                return True
        return False

    def _every_kind_once(self) -> None:
        """Each kind with a weight, that the draw left out, made once at the end (when it
        can be): a kind is often what a declared path needs (an offline burst, a sync that
        fails while cut off), and a seed that never drew it would leave the path unknown."""
        drawn = {op["kind"] for op in self.ops}
        for kind in self.kinds:
            if kind not in drawn:
                self._make(kind)

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

def op_counts(schedule: list[dict[str, Any]], by: str = "kind") -> dict[str, int]:
    """How many ops of each kind (or `by` another field) a schedule holds, most first."""
    counts: dict[str, int] = {}
    for op in schedule:
        counts[op[by]] = counts.get(op[by], 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


__all__ = ["CHANGE_POSITIONS", "EQUAL_TIME", "MAX_SEQ", "Shape", "cli_repository",
           "client_names", "generate",
           "op_counts", "replica_repository", "repository_names", "shape_of"]
