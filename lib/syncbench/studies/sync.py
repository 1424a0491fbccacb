"""Bidirectional sync study: offline-first replicas and live subscribers under network profiles.

For each network profile a fresh Stack (a new `tasksync serve`, a new Toxiproxy, fresh
SQLite files) runs the same seeded workload, so the profiles are compared on identical
work and nothing (server state, the seeded-bug counter, leftover toxics) leaks from one
profile into the next:

- N replicas (tasksync.replica.Replica), each behind its own proxy, run a seeded mix of
  local creates, updates and deletes, with periodic syncs between them. Some replicas go
  offline for a stretch of steps (their proxy disabled) and come back. Local edits and
  syncs are operations of one History.
- M WebSocket subscribers, each behind its own proxy, follow every repository from seq 0;
  each one's proxy is disabled once for a while, so that it must resume from its last seq.
- After the last write, every replica syncs in rounds until all replicas and the server
  hold identical tasks and every outbox is empty (deadline `converge_timeout_s`); the
  time from the last write's completion to that moment is the convergence time.

Acknowledged, precisely: a local change (one outbox row, i.e. one change id) is
acknowledged by the sync during which it left the replica's outbox. A replica removes a
row only when it applies a server reply that settles it, and a sync that completes `ok`
has settled every change queued before it started; so every change that was queued when
an `ok` sync began is acknowledged by that sync (a sync that fails half way acknowledges
the changes of the chunks answered before the failure). An acknowledged change is kept
when the server's change log holds an event of its task with exactly its fields (applied,
or already equal), or when its replica recorded a conflict for its change id (the
strategy decided against it, and said so); and the final server task must exist with a
version at least that event's version.

Everything random comes from `random.Random(seed)`: which replicas go offline and when,
each step's action, pause, target pick, status and priority, and each subscriber's outage.
Which concrete task a step edits is bound at run time (the `pick`-th of the replica's live
tasks), since that depends on what the replica has pulled so far.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from syncbench import stats as metric_fns
from syncbench.checks import (
    convergence,
    no_duplicates_from_retries,
    no_lost_acknowledged_writes,
    subscribers_saw_every_event,
)
from syncbench.history import OK, History, Operation, attempt_applied_nothing
from syncbench.profiles import ProfileError, get_profile, load_profiles
from syncbench.report import Report
from syncbench.stack import Stack, StackConfig
from syncbench.verdict import CheckResult, StudyChecks
from tasksync.client import RetryPolicy
from tasksync.client.websocket import ReceivedEvent
from tasksync.models import STRATEGIES
from tasksync.replica import Replica, SyncError, SyncReport
from tasksync.server.config import SEEDED_BUGS

STUDY = "sync"
WRITE_KINDS = ("create", "update", "delete")
STATUSES = ("pending", "in_progress", "completed", "cancelled")
PRIORITIES = ("low", "medium", "high")
# "manual" leaves conflicts open until a person resolves them: replicas would never converge.
SYNC_STRATEGIES = tuple(strategy for strategy in STRATEGIES if strategy != "manual")
DEFAULT_MIX: Mapping[str, float] = {"create": 0.4, "update": 0.45, "delete": 0.15}
TASK_FIELDS = ("content", "status", "priority", "deleted")

# Replicas fail fast while offline (a refused connection is certain), and the study still
# rides out a short reset: three attempts within a few seconds.
REPLICA_RETRY = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.5, deadline=5.0)
# Subscribers come back quickly once their proxy is enabled again.
SUBSCRIBER_RECONNECT = RetryPolicy(max_attempts=None, base_delay=0.05, max_delay=0.5,
                                   deadline=120.0)
POLL_INTERVAL_S = 0.05


# -- parameters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncParams:
    """What the sync study runs; every value is checked (ValueError names the parameter)."""

    profiles: tuple[str, ...] = ("lan", "wan")  # network profiles, one fresh stack each
    replicas: int = 3  # CLI replicas, each behind its own proxy
    subscribers: int = 2  # WebSocket subscribers, each behind its own proxy
    repositories: int = 1  # replicas are spread round-robin over these
    operations_per_replica: int = 20  # local creates/updates/deletes per replica
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    sync_every: float = 3.0  # mean local operations between two periodic syncs
    think_s: float = 0.05  # mean pause before each step of a replica (exponential)
    offline_replicas: int = 1  # replicas that go offline once
    offline_steps: int = 6  # consecutive steps an offline replica spends offline
    subscriber_outage_s: float = 0.5  # each subscriber's proxy is disabled this long (0: never)
    strategy: str = "server_wins"  # conflict resolution strategy of every sync
    converge_timeout_s: float = 30.0  # deadline for the final sync rounds
    delivery_timeout_s: float = 10.0  # deadline for subscribers to catch up at the end
    seed: int = 1
    seeded_bug: str = ""  # passed to the server as --seeded-bug (only to prove checks fail)

    def __post_init__(self) -> None:
        profiles = (self.profiles,) if isinstance(self.profiles, str) else tuple(self.profiles)
        object.__setattr__(self, "profiles", profiles)
        object.__setattr__(self, "mix", dict(self.mix))
        if not profiles:
            raise ValueError("profiles: give at least one network profile, e.g. ['lan']")
        if len(set(profiles)) != len(profiles):
            raise ValueError(f"profiles: each profile once, got {list(profiles)}")
        known = load_profiles()
        for name in profiles:
            try:
                profile = get_profile(name, known)
            except ProfileError as exc:
                raise ValueError(f"profiles: {exc}") from None
            if profile.outage:
                raise ValueError(f"profiles: {name!r} is an outage; the study takes replicas "
                                 "offline itself (offline_replicas, offline_steps)")
        _require_int("replicas", self.replicas, 1)
        _require_int("subscribers", self.subscribers, 0)
        _require_int("repositories", self.repositories, 1)
        if self.repositories > self.replicas:
            raise ValueError(f"repositories: {self.repositories} repositories need at least as "
                             f"many replicas (replicas={self.replicas})")
        _require_int("operations_per_replica", self.operations_per_replica, 1)
        unknown = sorted(set(self.mix) - set(WRITE_KINDS))
        if unknown:
            raise ValueError(f"mix: unknown operation(s) {unknown}; use {list(WRITE_KINDS)}")
        for kind, weight in self.mix.items():
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not (
                    math.isfinite(weight) and weight >= 0):
                raise ValueError(f"mix: weight of {kind!r} must be a number >= 0, got {weight!r}")
        if not self.mix.get("create", 0) > 0:
            raise ValueError("mix: 'create' needs a weight > 0 (updates and deletes need tasks)")
        _require_number("sync_every", self.sync_every, minimum=1.0)
        _require_number("think_s", self.think_s, minimum=0.0)
        _require_int("offline_replicas", self.offline_replicas, 0)
        if self.offline_replicas > self.replicas:
            raise ValueError(f"offline_replicas: {self.offline_replicas} is more than "
                             f"replicas={self.replicas}")
        _require_int("offline_steps", self.offline_steps, 1)
        if self.offline_steps > self.operations_per_replica:
            raise ValueError(f"offline_steps: {self.offline_steps} is more than "
                             f"operations_per_replica={self.operations_per_replica}")
        _require_number("subscriber_outage_s", self.subscriber_outage_s, minimum=0.0)
        if self.strategy not in SYNC_STRATEGIES:
            raise ValueError(f"strategy: {self.strategy!r} is not one of {list(SYNC_STRATEGIES)}"
                             " ('manual' never converges without a person resolving)")
        _require_number("converge_timeout_s", self.converge_timeout_s, minimum=0.0, strict=True)
        _require_number("delivery_timeout_s", self.delivery_timeout_s, minimum=0.0, strict=True)
        _require_int("seed", self.seed, None)
        if self.seeded_bug and self.seeded_bug not in SEEDED_BUGS:
            raise ValueError(f"seeded_bug: {self.seeded_bug!r} is not one of "
                             f"{sorted(SEEDED_BUGS)} (or '' for none)")

    def as_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON-able data (for the report)."""
        data = asdict(self)
        data["profiles"] = list(self.profiles)
        data["replica_retry"] = repr(REPLICA_RETRY)
        data["subscriber_reconnect"] = repr(SUBSCRIBER_RECONNECT)
        return data


def _require_int(name: str, value: Any, minimum: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")


def _require_number(name: str, value: Any, *, minimum: float, strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        raise ValueError(f"{name}: must be {'>' if strict else '>='} {minimum:g}, got {value}")


# -- the seeded workload ------------------------------------------------------------------


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
    """A replica's whole run: its proxy group, repository, steps and offline stretch."""

    replica: str
    group: str
    repository: str
    steps: tuple[Step, ...]
    offline: tuple[int, int] | None = None  # offline from step start up to (not incl.) end


@dataclass(frozen=True)
class SubscriberPlan:
    """A subscriber, its proxy group, and when (seconds after the start) it loses it."""

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
    plans = []
    for index in range(params.replicas):
        steps: list[Step] = []

        def step(action: str, index: int) -> Step:
            return Step(
                index=index, action=action,
                think_s=rng.expovariate(1 / params.think_s) if params.think_s > 0 else 0.0,
                pick=rng.random(), status=rng.choice(STATUSES), priority=rng.choice(PRIORITIES))

        for number in range(params.operations_per_replica):
            action = "create" if number == 0 else rng.choices(kinds, weights)[0]
            steps.append(step(action, len(steps)))
            last = number == params.operations_per_replica - 1
            if not last and rng.random() < 1 / params.sync_every:
                steps.append(step("sync", len(steps)))
        window = None
        if index in offline:
            start = rng.randrange(0, max(1, len(steps) - params.offline_steps))
            window = (start, min(len(steps), start + params.offline_steps))
        plans.append(ReplicaPlan(
            replica=f"r{index}", group=f"replica-{index}",
            repository=repositories[index % len(repositories)], steps=tuple(steps),
            offline=window))
    expected_s = params.think_s * max(len(plan.steps) for plan in plans)
    subscribers = tuple(
        SubscriberPlan(subscriber=f"s{index}", group=f"subscriber-{index}",
                       outage_at=rng.uniform(0.1, 0.5) * expected_s,
                       outage_s=params.subscriber_outage_s)
        for index in range(params.subscribers))
    return Workload(tuple(plans), subscribers, repositories)


def content_key(content: str) -> str:
    """The logical key a task's content starts with (one key per logical create)."""
    return content.split(" ", 1)[0]


# -- the result ---------------------------------------------------------------------------


@dataclass
class SyncResult(StudyChecks):
    """What a sync study run produced: raw frames, checks and metrics.

    Frames: `operations` (the History, plus profile/time/latency_ms), `windows` (offline
    windows: target (replica or subscriber), profile ("offline"), start, end, network (the
    network profile), kind, group (its proxy)), `deliveries` (one row per event a
    subscriber delivered), `syncs` (one row per sync), `acknowledged` (acknowledged changes
    and how each was settled), `change_log`, `conflicts`, `pending` (changes still queued at
    the end) and `convergence` (one row per profile).
    """

    params: SyncParams
    operations: pd.DataFrame
    windows: pd.DataFrame
    deliveries: pd.DataFrame
    syncs: pd.DataFrame
    acknowledged: pd.DataFrame
    change_log: pd.DataFrame
    conflicts: pd.DataFrame
    pending: pd.DataFrame
    convergence: pd.DataFrame
    checks: list[CheckResult]
    metrics: dict[str, Any]
    units: dict[str, str]
    environment: dict[str, Any]

    @property
    def seed(self) -> int:
        return self.params.seed

    def live_deliveries(self) -> pd.DataFrame:
        """Deliveries of live events (replays after a resume are excluded)."""
        return self.deliveries[~self.deliveries["replay"].astype(bool)]

    def latency_cdf(self) -> pd.DataFrame:
        """ECDF points of live event delivery latency (ms), one curve per profile."""
        return metric_fns.ecdf_by(self.live_deliveries(), "latency_ms", "profile")

    def report(self, output_dir: str = ".") -> Report:
        """A Report holding this run's checks, metrics, raw frames and environment."""
        report = Report(study=STUDY, output_dir=output_dir, parameters=self.params.as_dict(),
                        seed=self.seed, environment=self.environment)
        for result in self.checks:
            report.check(result)
        for name, value in self.metrics.items():
            report.metric(name, value, unit=self.units.get(name, ""))
        for name in ("operations", "windows", "deliveries", "syncs", "acknowledged",
                     "change_log", "conflicts", "pending", "convergence"):
            report.data(name, getattr(self, name))
        report.data("latency_cdf", self.latency_cdf())
        return report


# -- running ------------------------------------------------------------------------------


@dataclass
class _Profile:
    """The mutable record of one profile's run."""

    name: str
    history: History
    windows: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    syncs: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # change id -> local op
    acks: list[dict[str, Any]] = field(default_factory=list)
    creates: dict[str, int] = field(default_factory=dict)


async def run(params: SyncParams) -> SyncResult:
    """Run the workload under each profile on a fresh stack; the frames, checks and metrics."""
    workload = plan_workload(params)
    history = History()
    runs: list[_Profile] = []
    outcomes: list[dict[str, Any]] = []
    environment: dict[str, Any] = {}
    for profile in params.profiles:
        print(f"sync study: profile {profile}: {params.replicas} replicas, "
              f"{params.subscribers} subscribers, seed {params.seed}", flush=True)
        state = _Profile(profile, history)
        outcome = await _run_profile(params, workload, state, environment)
        runs.append(state)
        outcomes.append(outcome)
        print(f"sync study: profile {profile}: converged={outcome['converged']} in "
              f"{outcome['convergence_s']:.2f}s after the last write", flush=True)
    return _assemble(params, history, runs, outcomes, environment)


async def _run_profile(params: SyncParams, workload: Workload, state: _Profile,
                       environment: dict[str, Any]) -> dict[str, Any]:
    groups = tuple(p.group for p in workload.replicas) + tuple(
        s.group for s in workload.subscribers)
    options = ("--seeded-bug", params.seeded_bug) if params.seeded_bug else ()
    async with Stack(StackConfig(groups=groups, server_options=options)) as stack:
        if stack.toxiproxy_info is not None:
            environment["toxiproxy_version"] = stack.toxiproxy_info.version
        for group in groups:
            await stack.apply_profile(group, state.name)
        replicas = {
            plan.replica: stack.replica(
                plan.replica, plan.group, plan.repository,
                client_options={"retry": REPLICA_RETRY, "observer": state.history.observe_attempt,
                                "timeout": 10.0})
            for plan in workload.replicas
        }
        feeds = {
            sub.subscriber: stack.ws_client(
                {repo: 0 for repo in workload.repositories}, sub.group, client_id=sub.subscriber,
                reconnect=SUBSCRIBER_RECONNECT, heartbeat_timeout=5.0,
                on_event=_delivery_recorder(state, sub.subscriber))
            for sub in workload.subscribers
        }
        await asyncio.gather(*(feed.connect(timeout=15.0) for feed in feeds.values()))

        started = time.monotonic()
        await asyncio.gather(
            *(_drive_replica(stack, params, plan, replicas[plan.replica], state)
              for plan in workload.replicas),
            *(_subscriber_outage(stack, sub, started, state) for sub in workload.subscribers),
        )
        writes = [op for op in state.history.operations
                  if op.args.get("profile") == state.name and op.operation.startswith("local_")]
        last_write = max(op.complete_time or op.invoke_time for op in writes)

        converged_at, rounds = await _sync_until_converged(params, workload, replicas, stack,
                                                           state)
        last_seqs = {repo: await _last_seq(stack, repo) for repo in workload.repositories}
        caught_up = await _wait_for_subscribers(feeds, last_seqs, params.delivery_timeout_s)

        final = await _final_state(stack, workload, replicas, state.name)
        for feed in feeds.values():
            await feed.close()
        final.update(
            profile=state.name,
            converged=converged_at is not None,
            convergence_s=(converged_at - last_write) if converged_at is not None else math.nan,
            last_write_time=last_write,
            converged_time=converged_at,
            final_rounds=rounds,
            subscribers_caught_up=caught_up,
            reconnects=sum(feed.stats.reconnects for feed in feeds.values()),
            duplicates_dropped=sum(feed.stats.duplicates_dropped for feed in feeds.values()),
        )
        return final


def _delivery_recorder(state: _Profile, subscriber: str) -> Any:
    def record(received: ReceivedEvent) -> None:
        event = received.event
        state.deliveries.append({
            "profile": state.name,
            "subscriber": subscriber,
            "repository": event.repository,
            "seq": event.seq,
            "task_id": event.task_id,
            "type": event.type,
            "event_time": received.received_at - received.delivery_latency,
            "received_time": received.received_at,
            "latency_ms": received.delivery_latency * 1000.0,
            "replay": received.replay,
            "connection": received.connection,
        })

    return record


async def _drive_replica(stack: Stack, params: SyncParams, plan: ReplicaPlan, replica: Replica,
                         state: _Profile) -> None:
    offline_since: float | None = None
    for step in plan.steps:
        if plan.offline and step.index == plan.offline[0]:
            await stack.go_offline(plan.group)
            offline_since = time.time()
        if plan.offline and step.index == plan.offline[1] and offline_since is not None:
            await stack.go_online(plan.group)
            state.windows.append(_window(plan, "replica", offline_since, state.name))
            offline_since = None
        await asyncio.sleep(step.think_s)
        if step.action == "sync":
            await _sync(replica, plan, params.strategy, "periodic", state)
        else:
            await _write(replica, plan, step, state)
    if offline_since is not None:
        await stack.go_online(plan.group)
        state.windows.append(_window(plan, "replica", offline_since, state.name))


async def _subscriber_outage(stack: Stack, plan: SubscriberPlan, started: float,
                             state: _Profile) -> None:
    if plan.outage_s <= 0:
        return
    await asyncio.sleep(max(0.0, started + plan.outage_at - time.monotonic()))
    await stack.go_offline(plan.group)
    since = time.time()
    try:
        await asyncio.sleep(plan.outage_s)
    finally:
        await stack.go_online(plan.group)
        state.windows.append(_window(plan, "subscriber", since, state.name))


def _window(plan: ReplicaPlan | SubscriberPlan, kind: str, start: float,
            network: str) -> dict[str, Any]:
    """An offline window as charts shade it ("offline on r1"), with its proxy group."""
    target = plan.replica if isinstance(plan, ReplicaPlan) else plan.subscriber
    return {"target": target, "profile": "offline", "start": start, "end": time.time(),
            "network": network, "kind": kind, "group": plan.group}


async def _write(replica: Replica, plan: ReplicaPlan, step: Step, state: _Profile) -> None:
    live = await asyncio.to_thread(replica.list)
    action = step.action if live else "create"
    base = {"profile": state.name, "repository": plan.repository, "step": step.index}
    if action == "create":
        number = state.creates[plan.replica] = state.creates.get(plan.replica, -1) + 1
        key = f"{plan.replica}.{number}"
        async with state.history.record(plan.replica, "local_create", key=key, **base) as op:
            task = await asyncio.to_thread(replica.add, key, status=step.status,
                                           priority=step.priority)
            op.note(task_id=task.id)
    else:
        target = live[min(len(live) - 1, int(step.pick * len(live)))]
        key = content_key(target.content)
        async with state.history.record(plan.replica, f"local_{action}", key=key,
                                        task_id=target.id, **base) as op:
            if action == "update":
                await asyncio.to_thread(replica.edit, target.id, content=f"{key} v{step.index}",
                                        status=step.status, priority=step.priority)
            else:
                await asyncio.to_thread(replica.rm, target.id)
    pending = await asyncio.to_thread(replica.pending_changes)
    if op.outcome == OK and pending and pending[-1].change_id not in state.changes:
        change = pending[-1]
        state.changes[change.change_id] = {
            "local_op_id": op.op_id, "kind": action, "key": key,
            **{name: getattr(change.task, name) for name in TASK_FIELDS},
        }


async def _sync(replica: Replica, plan: ReplicaPlan, strategy: str, phase: str,
                state: _Profile) -> SyncReport | None:
    before = [c.change_id for c in await asyncio.to_thread(replica.pending_changes)]
    report: SyncReport | None = None
    async with state.history.record(plan.replica, "sync", profile=state.name, phase=phase,
                                    repository=plan.repository, queued=len(before)) as op:
        try:
            report = await replica.sync(strategy)
        except SyncError as exc:
            tried = op.op.attempt_outcomes
            if tried and all(attempt_applied_nothing(outcome) for outcome in tried):
                op.fail(exc)
            else:
                op.info(exc)
        else:
            op.note(seq=report.cursor)
    after = {c.change_id for c in await asyncio.to_thread(replica.pending_changes)}
    for change_id in before:
        if change_id in after:
            continue
        local = state.changes.get(change_id, {})
        state.acks.append({
            "profile": state.name, "replica": plan.replica, "repository": plan.repository,
            "change_id": change_id, "sync_op_id": op.op_id, "sync_outcome": op.outcome,
            "local_op_id": local.get("local_op_id"), "kind": local.get("kind"),
            "key": local.get("key"), "task_id": _task_of(change_id, state),
            **{name: local.get(name) for name in TASK_FIELDS},
        })
    state.syncs.append({
        "profile": state.name, "replica": plan.replica, "op_id": op.op_id, "phase": phase,
        "outcome": op.outcome, "queued": len(before), "acknowledged": len(before) - len(
            [c for c in before if c in after]),
        "pushed": report.pushed if report else None,
        "pulled": report.pulled if report else None,
        "applied": report.applied if report else None,
        "conflicts": len(report.conflicts) if report else None,
        "round_trips": report.round_trips if report else None,
        "attempts": len(op.op.attempt_outcomes),
        "duration_s": op.op.latency_s,
    })
    return report


def _task_of(change_id: str, state: _Profile) -> str | None:
    local = state.changes.get(change_id)
    if local is None:
        return None
    op = state.history.by_id(local["local_op_id"])
    return op.task_id


async def _sync_until_converged(params: SyncParams, workload: Workload,
                                replicas: Mapping[str, Replica], stack: Stack,
                                state: _Profile) -> tuple[float | None, int]:
    """Sync every replica in rounds until all agree with the server; (when, rounds)."""
    deadline = time.monotonic() + params.converge_timeout_s
    rounds = 0
    while True:
        rounds += 1
        await asyncio.gather(*(_sync(replicas[plan.replica], plan, params.strategy, "final",
                                     state) for plan in workload.replicas))
        if await _converged(stack, workload, replicas):
            return time.time(), rounds
        if time.monotonic() >= deadline:
            return None, rounds
        await asyncio.sleep(POLL_INTERVAL_S)


async def _converged(stack: Stack, workload: Workload, replicas: Mapping[str, Replica]) -> bool:
    for plan in workload.replicas:
        if await asyncio.to_thread(replicas[plan.replica].pending_count):
            return False
    for repository in workload.repositories:
        states = await _states(stack, workload, replicas, repository)
        if not convergence(states, compare_versions=True).passed:
            return False
    return True


async def _states(stack: Stack, workload: Workload, replicas: Mapping[str, Replica],
                  repository: str) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {"server": await stack.server_tasks(repository)}
    for plan in workload.replicas:
        if plan.repository == repository:
            snapshot = await asyncio.to_thread(replicas[plan.replica].tasks)
            states[plan.replica] = {
                task_id: dict(zip((*TASK_FIELDS, "version"), values, strict=True))
                for task_id, values in snapshot.items()}
    return states


async def _last_seq(stack: Stack, repository: str) -> int:
    log = await stack.change_log(repository)
    return log[-1]["seq"] if log else 0


async def _wait_for_subscribers(feeds: Mapping[str, Any], last_seqs: Mapping[str, int],
                                timeout: float) -> bool:
    """Whether every subscriber reached the server's last seq of each repository in time."""
    deadline = time.monotonic() + timeout
    while True:
        if all(feed.last_seq.get(repo, 0) >= seq for feed in feeds.values()
               for repo, seq in last_seqs.items()):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_INTERVAL_S)


async def _final_state(stack: Stack, workload: Workload, replicas: Mapping[str, Replica],
                       profile: str) -> dict[str, Any]:
    """States, logs, conflicts and leftover outboxes at the end of a profile's run."""
    states = {repo: await _states(stack, workload, replicas, repo)
              for repo in workload.repositories}
    log_rows = []
    for repository in workload.repositories:
        for event in await stack.change_log(repository):
            task = event["task"]
            log_rows.append({
                "profile": profile, "repository": repository, "seq": event["seq"],
                "type": event["type"], "task_id": event["task_id"], "version": event["version"],
                "origin": event["origin"], "timestamp": event["timestamp"],
                **{name: task[name] for name in TASK_FIELDS}})
    conflict_rows, pending_rows = [], []
    for plan in workload.replicas:
        replica = replicas[plan.replica]
        for conflict in await asyncio.to_thread(replica.conflicts):
            conflict_rows.append({
                "profile": profile, "replica": plan.replica, "repository": plan.repository,
                "change_id": conflict.change_id, "task_id": conflict.task_id,
                "conflict_id": conflict.conflict_id, "strategy": conflict.strategy,
                "winner": conflict.winner, "base_version": conflict.base_version})
        for change in await asyncio.to_thread(replica.pending_changes):
            pending_rows.append({
                "profile": profile, "replica": plan.replica, "repository": plan.repository,
                "change_id": change.change_id, "task_id": change.task_id})
    return {"states": states, "log": log_rows, "conflicts": conflict_rows,
            "pending": pending_rows}


# -- assembling frames, checks and metrics ------------------------------------------------


def _assemble(params: SyncParams, history: History, runs: Sequence[_Profile],
              outcomes: Sequence[dict[str, Any]], environment: dict[str, Any]) -> SyncResult:
    history.complete_pending("the study ended first")
    operations = history.to_frame()
    operations["profile"] = operations["arg_profile"]
    operations["time"] = pd.to_datetime(operations["invoke_time"], unit="s")
    operations["latency_ms"] = operations["latency_s"] * 1000.0

    windows = pd.DataFrame([w for r in runs for w in r.windows],
                           columns=["target", "profile", "start", "end", "network", "kind", "group"])
    windows["start"] = pd.to_datetime(windows["start"], unit="s")
    windows["end"] = pd.to_datetime(windows["end"], unit="s")
    deliveries = pd.DataFrame([d for r in runs for d in r.deliveries], columns=DELIVERY_FIELDS)
    syncs = pd.DataFrame([s for r in runs for s in r.syncs])
    acks = pd.DataFrame([a for r in runs for a in r.acks], columns=ACK_FIELDS)
    change_log = pd.DataFrame([e for o in outcomes for e in o["log"]], columns=LOG_FIELDS)
    conflicts = pd.DataFrame([c for o in outcomes for c in o["conflicts"]], columns=CONFLICT_FIELDS)
    pending = pd.DataFrame([p for o in outcomes for p in o["pending"]],
                           columns=["profile", "replica", "repository", "change_id", "task_id"])
    settled = settle_acknowledged(acks, change_log, conflicts)
    convergence_frame = pd.DataFrame([
        {key: outcome[key] for key in ("profile", "converged", "convergence_s",
                                       "last_write_time", "converged_time", "final_rounds",
                                       "subscribers_caught_up", "reconnects",
                                       "duplicates_dropped")}
        for outcome in outcomes])

    checks = [
        combine_checks("convergence", {
            f"{o['profile']}/{repo}": convergence(states, compare_versions=True)
            for o in outcomes for repo, states in o["states"].items()}),
        combine_checks("no_lost_acknowledged_writes", {
            o["profile"]: no_lost_acknowledged_writes(
                acknowledged_write_operations(settled[settled["profile"] == o["profile"]]),
                _server_tasks(o))
            for o in outcomes}),
        acknowledged_changes_applied_or_reported(settled),
        every_local_change_acknowledged(pending),
        combine_checks("no_duplicates_from_retries", {
            o["profile"]: no_duplicates_from_retries(
                [op for op in history.operations if op.args.get("profile") == o["profile"]],
                _server_tasks(o),
                task_key=lambda task: content_key(str(task.get("content", ""))),
                op_key=lambda op: op.args.get("key"),
                create_operations={"local_create"})
            for o in outcomes}),
        combine_checks("subscribers_saw_every_event", {
            o["profile"]: subscribers_saw_every_event(
                deliveries[deliveries["profile"] == o["profile"]][
                    ["subscriber", "repository", "seq", "received_time"]],
                _log_seqs(change_log[change_log["profile"] == o["profile"]],
                          o["states"].keys()),
                subscriptions={sub: dict.fromkeys(o["states"], 0)
                               for sub in _subscriber_names(params)})
            for o in outcomes}),
    ]
    values, units = _metrics(params, operations, deliveries, syncs, settled, conflicts,
                             convergence_frame)
    environment.setdefault("toxiproxy_version", None)
    return SyncResult(
        params=params, operations=operations, windows=windows, deliveries=deliveries,
        syncs=syncs, acknowledged=settled, change_log=change_log, conflicts=conflicts,
        pending=pending, convergence=convergence_frame, checks=checks, metrics=values,
        units=units, environment=dict(environment))


DELIVERY_FIELDS = ["profile", "subscriber", "repository", "seq", "task_id", "type", "event_time",
                   "received_time", "latency_ms", "replay", "connection"]
ACK_FIELDS = ["profile", "replica", "repository", "change_id", "sync_op_id", "sync_outcome",
              "local_op_id", "kind", "key", "task_id", *TASK_FIELDS]
LOG_FIELDS = ["profile", "repository", "seq", "type", "task_id", "version", "origin",
              "timestamp", *TASK_FIELDS]
CONFLICT_FIELDS = ["profile", "replica", "repository", "change_id", "task_id", "conflict_id",
                   "strategy", "winner", "base_version"]


def _subscriber_names(params: SyncParams) -> list[str]:
    return [f"s{index}" for index in range(params.subscribers)]


def _server_tasks(outcome: Mapping[str, Any]) -> dict[str, Any]:
    return {task_id: task for states in outcome["states"].values()
            for task_id, task in states["server"].items()}


def _log_seqs(log: pd.DataFrame, repositories: Iterable[str]) -> dict[str, list[int]]:
    return {repo: [int(seq) for seq in log.loc[log["repository"] == repo, "seq"]]
            for repo in repositories}


def _metrics(params: SyncParams, operations: pd.DataFrame, deliveries: pd.DataFrame,
             syncs: pd.DataFrame, settled: pd.DataFrame, conflicts: pd.DataFrame,
             convergence_frame: pd.DataFrame) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    units: dict[str, str] = {}

    def put(name: str, value: Any, unit: str = "") -> None:
        values[name] = value
        units[name] = unit

    for row in convergence_frame.itertuples(index=False):
        put(f"convergence_s_{row.profile}", float(row.convergence_s), "s")
        put(f"final_sync_rounds_{row.profile}", int(row.final_rounds))
        put(f"subscriber_reconnects_{row.profile}", int(row.reconnects))
        # The client drops redelivered seqs before the check sees them; count them here.
        put(f"subscriber_duplicates_dropped_{row.profile}", int(row.duplicates_dropped))
    live = deliveries[~deliveries["replay"].astype(bool)] if len(deliveries) else deliveries
    for profile in params.profiles:
        latencies = live.loc[live["profile"] == profile, "latency_ms"]
        for q in (50, 90, 99):
            put(f"delivery_p{q}_ms_{profile}",
                float(latencies.quantile(q / 100)) if len(latencies) else math.nan, "ms")
        mine = syncs[syncs["profile"] == profile] if len(syncs) else syncs
        done = mine[mine["outcome"] == OK] if len(mine) else mine
        put(f"syncs_{profile}", len(mine))
        put(f"syncs_not_ok_{profile}", len(mine) - len(done))
        put(f"sync_round_trips_{profile}", int(done["round_trips"].sum()) if len(done) else 0)
        put(f"sync_round_trips_per_sync_{profile}",
            float(done["round_trips"].mean()) if len(done) else math.nan)
        put(f"sync_http_attempts_{profile}", int(mine["attempts"].sum()) if len(mine) else 0)
        put(f"acknowledged_changes_{profile}", int((settled["profile"] == profile).sum()))
        put(f"conflicts_{profile}", int((conflicts["profile"] == profile).sum()))
        put(f"replayed_deliveries_{profile}",
            int((deliveries["profile"] == profile).sum() - (live["profile"] == profile).sum()))
    put("local_writes", int(operations["operation"].str.startswith("local_").sum()))
    return values, units


# -- study-specific pure checks -----------------------------------------------------------


def combine_checks(name: str, parts: Mapping[str, CheckResult]) -> CheckResult:
    """One CheckResult over several scopes (profiles, repositories) of the same check.

    Passes when every part passes; `observed` lists each scope's observation; each
    counterexample entry gains a `scope` naming where it was found.
    """
    if not parts:
        return CheckResult(name=name, passed=True, observed="nothing to check", expected="-")
    failing = {scope: part for scope, part in parts.items() if not part.passed}
    first = next(iter(parts.values()))
    message = (first.message if not failing else
               "; ".join(f"[{scope}] {part.message}" for scope, part in failing.items()))
    return CheckResult(
        name=name,
        passed=not failing,
        observed="; ".join(f"{scope}: {part.observed}" for scope, part in parts.items()),
        expected=first.expected,
        message=message,
        counterexample=[{"scope": scope, **entry} for scope, part in failing.items()
                        for entry in part.counterexample],
    )


def settle_acknowledged(acks: pd.DataFrame, change_log: pd.DataFrame,
                        conflicts: pd.DataFrame) -> pd.DataFrame:
    """The acknowledged changes, each with how the server settled it.

    `settled_as` is "applied" when the change log holds an event of the change's task with
    exactly its fields (an event by the same replica preferred; another's counts, for a
    change the server found already equal), "conflict" when its replica recorded a conflict
    for its change id, else "lost". `version` and `seq` are the matching event's.
    """
    events: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for event in change_log.to_dict(orient="records"):
        events.setdefault((event["profile"], event["repository"], event["task_id"]),
                          []).append(event)
    reported = {(c["profile"], c["replica"], c["change_id"])
                for c in conflicts.to_dict(orient="records")}
    rows = []
    for ack in acks.to_dict(orient="records"):
        matches = [e for e in events.get((ack["profile"], ack["repository"], ack["task_id"]), [])
                   if all(_same(e[name], ack[name]) for name in TASK_FIELDS)]
        matches.sort(key=lambda e: (e["origin"] != ack["replica"], e["seq"]))
        if matches:
            rows.append({**ack, "settled_as": "applied", "version": matches[0]["version"],
                         "seq": matches[0]["seq"]})
        elif (ack["profile"], ack["replica"], ack["change_id"]) in reported:
            rows.append({**ack, "settled_as": "conflict", "version": None, "seq": None})
        else:
            rows.append({**ack, "settled_as": "lost", "version": None, "seq": None})
    frame = pd.DataFrame(rows, columns=[*acks.columns, "settled_as", "version", "seq"])
    for column in ("version", "seq"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return bool(left) == bool(right)
    return left == right


def acknowledged_changes_applied_or_reported(settled: pd.DataFrame) -> CheckResult:
    """Proves that every acknowledged change was applied or reported as a conflict.

    `settled` comes from `settle_acknowledged`. The counterexample lists each "lost"
    change with its local operation and the sync operation that acknowledged it.
    """
    lost = settled[settled["settled_as"] == "lost"] if len(settled) else settled
    counts = settled["settled_as"].value_counts().to_dict() if len(settled) else {}
    entries = [
        {key: _plain(row[key]) for key in ("profile", "replica", "change_id", "task_id",
                                            "local_op_id", "sync_op_id", "kind", "key",
                                            *TASK_FIELDS)}
        for row in lost.to_dict(orient="records")]
    message = ("every acknowledged change is in the change log or reported as a conflict"
               if not entries else "; ".join(
                   f"{e['replica']} change {e['change_id']} (op {e['local_op_id']}, acknowledged "
                   f"by sync op {e['sync_op_id']}) is neither applied nor reported"
                   for e in entries[:5]) + (" ..." if len(entries) > 5 else ""))
    return CheckResult(
        name="acknowledged_changes_applied_or_reported",
        passed=not entries,
        observed=(f"{len(entries)} lost of {len(settled)} acknowledged "
                  f"({counts.get('applied', 0)} applied, {counts.get('conflict', 0)} conflicts)"),
        expected="0 lost",
        message=message,
        counterexample=entries,
    )


def acknowledged_write_operations(settled: pd.DataFrame) -> list[Operation]:
    """Each acknowledged change as an `ok` write Operation for no_lost_acknowledged_writes.

    The op id is the local edit's; the version is the one the server gave the change
    (None for a change settled by a conflict: then only the task's existence is checked).
    """
    kinds = {"create": "create", "update": "update", "delete": "delete"}
    ops = []
    for row in settled.to_dict(orient="records"):
        version = row.get("version")
        ops.append(Operation(
            op_id=int(row["local_op_id"]) if _present(row.get("local_op_id")) else -1,
            client=str(row["replica"]), operation=kinds.get(str(row.get("kind")), "update"),
            args={"change_id": row["change_id"], "sync_op_id": row["sync_op_id"],
                  "key": row.get("key")},
            invoke_time=0.0, invoke_monotonic=0.0, outcome=OK,
            task_id=row.get("task_id") if _present(row.get("task_id")) else None,
            version=int(version) if _present(version) else None))
    return ops


def every_local_change_acknowledged(pending: pd.DataFrame) -> CheckResult:
    """Proves that no local change was still waiting in an outbox when the run ended."""
    entries = [{key: _plain(value) for key, value in row.items()}
               for row in pending.to_dict(orient="records")]
    return CheckResult(
        name="every_local_change_acknowledged",
        passed=not entries,
        observed=f"{len(entries)} changes still queued",
        expected="0 queued",
        message=("every replica's outbox is empty" if not entries else "still queued: " + ", ".join(
            f"{e.get('replica')}:{e.get('change_id')}" for e in entries[:10])),
        counterexample=entries,
    )


def _present(value: Any) -> bool:
    return not (value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)))


def _plain(value: Any) -> Any:
    if not _present(value):
        return None
    return value.item() if hasattr(value, "item") else value

