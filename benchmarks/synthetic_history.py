"""A synthetic run shaped like a real one, at any size, for `benchmarks.analysis`.

    run = synthetic_run(100_000, seed=1)
    no_lost_acknowledged_writes(run.history, run.server_tasks).passed   # True

What a study's analysis sees after a run, generated from a seed without a server: many
clients creating, updating (a few hot tasks take a fifth of the updates) and deleting tasks
across repositories, with ok / fail / info completions (an info write applied or not, at
random, and re-invoked like a retrying client: same task id, same key); nemesis start/stop
operations for network, offline and storage faults; the change log and each subscriber's
WebSocket deliveries (two subscribers per repository, ~1% delivered twice, as
at-least-once delivery does); conflicts as reported and as logged; breaker transitions;
and the final state of the server and of two replicas that converged to it. Every check
in syncbench.checks passes on it, so the benchmark times the full path of a passing run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from syncbench.history import FAIL, INFO, OK, History, Operation
from syncbench.nemesis.nemesis import PROCESS

START_WALL = 1_800_000_000.0  # 2027-01-15, UTC
FAULTS = (("network", "group-a", "wan"), ("offline", "group-b", "offline"),
          ("storage", "server", "storage"))
STRATEGIES = ("server_wins", "client_wins", "last_write_wins", "merge")
WINNER = {"server_wins": "server", "client_wins": "client", "last_write_wins": "client",
          "merge": "merged"}


@dataclass
class SyntheticRun:
    """What a study's analysis gets: the History, final states and the event-level records."""

    history: History
    server_tasks: dict[str, dict[str, Any]]
    states: dict[str, dict[str, dict[str, Any]]]
    change_log: dict[str, list[int]]
    deliveries: pd.DataFrame
    subscriptions: dict[str, dict[str, int]]
    conflicts: list[dict[str, Any]]
    conflict_log: list[dict[str, Any]]
    transitions: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)


class _Builder:
    def __init__(self, size: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.size = size
        self.ops: list[Operation] = []
        self.clients = [f"client-{n}" for n in range(max(8, size // 2_500))]
        self.repositories = [f"repo-{n}" for n in range(max(2, size // 20_000))]
        self.tasks: dict[str, dict[str, Any]] = {}
        self.live: list[str] = []
        self.log: dict[str, list[int]] = {repo: [] for repo in self.repositories}
        self.clock = 0.0

    def op(self, client: str, operation: str, args: dict[str, Any], outcome: str, *,
           task_id: str | None = None, version: int | None = None, seq: int | None = None,
           attempts: int | None = 1, error: str = "") -> None:
        self.clock += 0.001
        latency = 0.002 + self.rng.random() * 0.02
        mono = 1_000.0 + self.clock
        self.ops.append(Operation(
            len(self.ops) + 1, client, operation, args, START_WALL + self.clock, mono,
            START_WALL + self.clock + latency, mono + latency, outcome, attempts, error,
            task_id, version, seq))

    def apply(self, task_id: str, **changes: Any) -> tuple[int, int]:
        task = self.tasks[task_id]
        task.update(changes)
        task["version"] += 1
        log = self.log[task["repository"]]
        log.append(len(log) + 1)
        return task["version"], log[-1]

    def outcome(self) -> str:
        draw = self.rng.random()
        return OK if draw < 0.85 else FAIL if draw < 0.92 else INFO

    def create(self, client: str) -> None:
        number = len(self.tasks)
        task_id, repository = f"task-{number}", self.rng.choice(self.repositories)
        args = {"task_id": task_id, "content": f"key-{number}", "repository": repository}
        outcome = self.outcome()
        applied = outcome == OK or (outcome == INFO and self.rng.random() < 0.5)
        if applied:
            self.tasks[task_id] = {"id": task_id, "repository": repository,
                                   "content": args["content"], "status": "pending",
                                   "priority": "medium", "deleted": False, "version": 0}
            self.live.append(task_id)
            version, seq = self.apply(task_id)
        if outcome == OK:
            self.op(client, "create", args, OK, task_id=task_id, version=version, seq=seq)
            return
        self.op(client, "create", args, outcome, attempts=3,
                error="ReadTimeout" if outcome == INFO else "ServerUnreachable: refused")
        if outcome == INFO:  # the client retries the same logical create: same id and key
            if not applied:
                self.tasks[task_id] = {"id": task_id, "repository": repository,
                                       "content": args["content"], "status": "pending",
                                       "priority": "medium", "deleted": False, "version": 0}
                self.live.append(task_id)
                version, seq = self.apply(task_id)
            else:
                version, seq = self.tasks[task_id]["version"], self.log[repository][-1]
            self.op(client, "create", dict(args), OK, task_id=task_id, version=version,
                    seq=seq, attempts=2)

    def change(self, client: str, operation: str) -> None:
        # the first five places of `live` are the hot tasks: a fifth of the changes hit them
        hot = self.rng.random() < 0.2
        index = self.rng.randrange(min(5, len(self.live)) if hot else len(self.live))
        task_id = self.live[index]
        outcome = self.outcome()
        if operation == "update":
            changes = {"status": self.rng.choice(("in_progress", "completed")),
                       "priority": self.rng.choice(("low", "medium", "high"))}
        else:
            changes = {"deleted": True}
        args = {"task_id": task_id, **changes}
        if outcome == FAIL or (outcome == INFO and self.rng.random() < 0.5):
            self.op(client, operation, args, outcome, attempts=2, error="ReadTimeout")
            return
        version, seq = self.apply(task_id, **changes)
        if operation == "delete":  # swap-remove: O(1)
            self.live[index] = self.live[-1]
            self.live.pop()
        if outcome == OK:
            self.op(client, operation, args, OK, task_id=task_id, version=version, seq=seq)
        else:
            self.op(client, operation, args, INFO, attempts=3, error="ReadTimeout")

    def fault(self, fault_id: int, start: bool) -> None:
        kind, target, label = FAULTS[fault_id % len(FAULTS)]
        args = {"fault_id": fault_id, "fault": kind, "target": target, "label": label,
                "phase": "main"}
        self.op(PROCESS, "start" if start else "stop", args, OK, attempts=None)


def synthetic_run(size: int, seed: int = 1) -> SyntheticRun:
    """A run of about `size` operations (every kind a study records), from `seed`."""
    build = _Builder(size, seed)
    rng = build.rng
    fault_every = max(200, size // 100)
    faults = 0
    while len(build.ops) < size:
        position = len(build.ops)
        if position % fault_every == 0:
            build.fault(faults, start=True)
        elif position % fault_every == fault_every // 2:
            build.fault(faults, start=False)
            faults += 1
        client = build.clients[rng.randrange(len(build.clients))]
        draw = rng.random()
        if draw < 0.4 or len(build.live) < 10:
            build.create(client)
        elif draw < 0.9:
            build.change(client, "update")
        else:
            build.change(client, "delete")
    history = History(operations=build.ops)
    server_tasks = {task_id: dict(task) for task_id, task in build.tasks.items()}
    states = {"server": server_tasks,
              **{f"replica-{n}": {task_id: dict(task) for task_id, task in build.tasks.items()}
                 for n in (1, 2)}}
    deliveries, subscriptions = _deliveries(build.log, rng)
    conflicts = _conflicts(build, max(10, size // 100))
    return SyntheticRun(
        history=history, server_tasks=server_tasks, states=states, change_log=build.log,
        deliveries=deliveries, subscriptions=subscriptions, conflicts=conflicts,
        conflict_log=[dict(conflict) for conflict in conflicts],
        transitions=_transitions(max(4, size // 100)),
        counts={"operations": len(build.ops), "tasks": len(build.tasks), "faults": faults,
                "clients": len(build.clients), "repositories": len(build.repositories),
                "events": sum(len(seqs) for seqs in build.log.values()),
                "deliveries": len(deliveries), "conflicts": len(conflicts)})


def _deliveries(log: dict[str, list[int]],
                rng: random.Random) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    subscriber, repository, seqs, received = [], [], [], []
    subscriptions: dict[str, dict[str, int]] = {}
    for repo, repo_seqs in log.items():
        for side in ("a", "b"):
            name = f"{repo}-sub-{side}"
            subscriptions[name] = {repo: 0}
            for seq in repo_seqs:
                copies = 2 if rng.random() < 0.01 else 1
                for _ in range(copies):
                    subscriber.append(name)
                    repository.append(repo)
                    seqs.append(seq)
                    received.append(START_WALL + seq * 0.001 + len(seqs) * 1e-9)
    frame = pd.DataFrame({"subscriber": subscriber, "repository": repository, "seq": seqs,
                          "received_time": received})
    return frame, subscriptions


def _conflicts(build: _Builder, count: int) -> list[dict[str, Any]]:
    task_ids = list(build.tasks)
    out = []
    for number in range(count):
        task = build.tasks[task_ids[number % len(task_ids)]]
        strategy = STRATEGIES[number % len(STRATEGIES)]
        out.append({
            "conflict_id": number + 1, "change_id": f"client-0:{number}", "task_id": task["id"],
            "repository": task["repository"], "strategy": strategy,
            "winner": WINNER[strategy],
            "server": {"content": task["content"], "updated_at": "2027-01-15T08:00:00Z"},
            "client": {"content": task["content"] + " (edited)"},
            "client_updated_at": "2027-01-15T08:00:01Z",
            "base": {"content": task["content"]} if strategy == "merge" else None,
        })
    return out


def _transitions(count: int) -> list[dict[str, Any]]:
    cycle = (("closed", "open"), ("open", "half_open"), ("half_open", "closed"))
    return [{"from": cycle[n % 3][0], "to": cycle[n % 3][1], "at": START_WALL + n * 0.5}
            for n in range(count)]


__all__ = ["SyntheticRun", "synthetic_run"]
