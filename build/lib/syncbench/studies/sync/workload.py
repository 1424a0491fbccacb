"""The seeded plan every profile runs: each replica's steps, who is cut off when, for how long.

Everything random comes from `random.Random(seed)`: each step's action, pause, target pick,
status and priority, which replicas go offline and when, and each subscriber's outage. Which
concrete task a step edits is bound at run time (the `pick`-th of the replica's live tasks),
since that depends on what the replica has pulled so far.

The cut-offs become a fault schedule (`fault_schedule`): one `offline` window per offline
replica and per subscriber, on its proxy group, in seconds from the start of the workload,
repeated for each profile as its phase (each profile runs on a fresh stack, so each replays
the same windows). A replica's window lies within the sum of its planned pauses, which its
steps take at least, so it is offline while it still works; a subscriber's outage starts
between 10% and 50% of the longest replica's planned pauses, while live events still flow.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from syncbench.checks import content_key
from syncbench.nemesis import FaultSchedule, parse_schedule
from syncbench.studies.sync.params import (
    WRITE_KINDS,
    SyncParams,
    client_group,
    replica_group,
    subscriber_group,
)

STATUSES = ("pending", "in_progress", "completed", "cancelled")
PRIORITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class Step:
    """One step of a replica: a pause, then a local write or a sync."""

    index: int
    action: str  # create | update | delete | sync
    think_s: float
    pick: float  # in [0, 1): which of the replica's live tasks an update or delete targets
    status: str
    priority: str


@dataclass(frozen=True)
class ReplicaPlan:
    """A replica's whole run: its proxy group, repository, steps and offline window."""

    replica: str
    group: str
    repository: str
    steps: tuple[Step, ...]
    offline: tuple[float, float] | None = None  # (at, for) in seconds from the start

    @property
    def planned_s(self) -> float:
        """The sum of its pauses: a lower bound on how long its steps take."""
        return sum(step.think_s for step in self.steps)


@dataclass(frozen=True)
class SubscriberPlan:
    """A subscriber, its proxy group, and when (seconds after the start) it is cut off."""

    subscriber: str
    group: str
    outage_at: float
    outage_s: float


@dataclass(frozen=True)
class Workload:
    replicas: tuple[ReplicaPlan, ...]
    subscribers: tuple[SubscriberPlan, ...]
    repositories: tuple[str, ...]


def plan_workload(params: SyncParams) -> Workload:
    """The seeded workload every profile runs: the same plan for the same parameters."""
    rng = random.Random(params.seed)
    repositories = tuple(f"tasks-{index}" for index in range(params.repositories))
    kinds = [kind for kind in WRITE_KINDS if params.mix.get(kind, 0) > 0]
    weights = [params.mix[kind] for kind in kinds]
    offline = set(rng.sample(range(params.replicas), params.offline_replicas))

    def step(action: str, index: int) -> Step:
        return Step(index=index, action=action,
                    think_s=rng.expovariate(1 / params.think_s) if params.think_s > 0 else 0.0,
                    pick=rng.random(), status=rng.choice(STATUSES),
                    priority=rng.choice(PRIORITIES))

    plans = []
    for index in range(params.replicas):
        steps: list[Step] = []
        for number in range(params.operations_per_replica):
            action = "create" if number == 0 else rng.choices(kinds, weights)[0]
            steps.append(step(action, len(steps)))
            last = number == params.operations_per_replica - 1
            if not last and rng.random() < 1 / params.sync_every:
                steps.append(step("sync", len(steps)))
        plan = ReplicaPlan(replica=f"r{index}", group=replica_group(index),
                           repository=repositories[index % len(repositories)],
                           steps=tuple(steps))
        if index in offline:
            at = rng.uniform(0.0, max(0.0, plan.planned_s - params.offline_s))
            plan = replace(plan, offline=(round(at, 3), params.offline_s))
        plans.append(plan)
    expected_s = max(plan.planned_s for plan in plans)
    subscribers = tuple(
        SubscriberPlan(subscriber=f"s{index}", group=subscriber_group(index),
                       outage_at=round(rng.uniform(0.1, 0.5) * expected_s, 3),
                       outage_s=params.subscriber_outage_s)
        for index in range(params.subscribers))
    return Workload(tuple(plans), subscribers, repositories)


def fault_schedule(params: SyncParams, workload: Workload) -> FaultSchedule:
    """The schedule to play: `params.schedule` when given (a replay), else the workload's
    offline windows, once per profile (its phase)."""
    if params.schedule:
        return parse_schedule(params.schedule)
    windows = [(plan.group, *plan.offline) for plan in workload.replicas if plan.offline]
    windows += [(sub.group, sub.outage_at, sub.outage_s) for sub in workload.subscribers
                if sub.outage_s > 0]
    return parse_schedule([
        {"at": at, "for": duration, "fault": "offline", "target": group, "phase": profile}
        for profile in params.profiles for group, at, duration in windows])


def generated_fault_schedule(params: SyncParams, operations: list[dict]) -> FaultSchedule:
    """The schedule a generated workload plays: `params.schedule` when given (a replay; with
    given `operations` only that schedule, even an empty one),
    else, once per profile, an `offline` window of `subscriber_outage_s` on every subscriber
    and one of `offline_s` on the first HTTP client, each starting between 10% and 60% of
    the longest client's planned pauses (replicas go offline through their own ops)."""
    if params.schedule or params.operations:
        # given operations (a replay, a shrinking trial) play only the given windows
        return parse_schedule(params.schedule)
    rng = random.Random(params.seed + 1)  # apart from the generator's draws
    planned: dict[str, float] = {}
    for op in operations:
        planned[op["client"]] = planned.get(op["client"], 0.0) + float(op.get("pause") or 0.0)
    span = max(planned.values(), default=1.0)
    windows = [(subscriber_group(index), params.subscriber_outage_s)
               for index in range(params.subscribers) if params.subscriber_outage_s > 0]
    if params.http_clients:
        windows.append((client_group(0), params.offline_s))
    timed = [(group, round(rng.uniform(0.1, 0.6) * span, 3), duration)
             for group, duration in windows]
    return parse_schedule([
        {"at": at, "for": duration, "fault": "offline", "target": group, "phase": profile}
        for profile in params.profiles for group, at, duration in timed])


def workload_frame(operations: list[dict] | Any) -> pd.DataFrame:
    """A schedule as a frame: step, client, op, kind, pause, and the rest as JSON `args`
    (`json.loads` of each, merged with the first five, gives the op back)."""
    head = ("step", "client", "op", "kind", "pause")
    rows = [{**{name: op.get(name) for name in head},
             "args": json.dumps({k: v for k, v in op.items() if k not in head}, sort_keys=True)}
            for op in operations]
    return pd.DataFrame(rows, columns=[*head, "args"])


def operations_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The schedule a `workload` frame holds (its CSV read back too): `operations` to replay."""
    ops = []
    for row in frame.to_dict(orient="records"):
        args = row.get("args")
        op = {"step": int(row["step"]), "client": str(row["client"]), "op": str(row["op"]),
              "kind": str(row["kind"]), "pause": float(row["pause"])}
        ops.append({**op, **(json.loads(args) if isinstance(args, str) and args else {})})
    return ops


__all__ = ["PRIORITIES", "STATUSES", "ReplicaPlan", "Step", "SubscriberPlan", "Workload",
           "content_key", "fault_schedule", "generated_fault_schedule", "operations_of", "plan_workload", "workload_frame"]
