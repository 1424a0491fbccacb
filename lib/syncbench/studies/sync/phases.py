"""One profile's run on a fresh stack: replicas and subscribers work while the nemesis plays
the cut-offs, then heal, quiesce (final sync rounds, subscribers catching up), final reads.

The profile's network condition is the stack's base condition (`StackConfig.base_profile`)
for the whole phase, not a nemesis fault: it is what the phase runs under, named by
`params.profiles`, and its length is the phase's own, unknown in advance; as a fault it
would shade every chart from end to end and a replay would cut it at the length one run
happened to take. The faults proper, the offline windows, are the nemesis's schedule.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncbench.checks import convergence
from syncbench.distributed import SubscriberFleet
from syncbench.explore.listener import SUBSCRIBE_TIMEOUT_S
from syncbench.history import OK, History, attempt_applied_nothing
from syncbench.nemesis import FaultSchedule, Nemesis
from syncbench.stack import Stack, StackConfig
from syncbench.studies.sync.params import SyncParams
from syncbench.studies.sync.workload import ReplicaPlan, Step, Workload, content_key
from syncbench.study import seeded_bug_options
from tasksync.client import RetryPolicy
from tasksync.models import EDITABLE_FIELDS
from tasksync.replica import Replica, SyncError

TASK_FIELDS = EDITABLE_FIELDS  # what a change carries (tasksync.models)

# Replicas fail fast while offline (a refused connection is certain), and the study still
# rides out a short reset: three attempts within a few seconds.
REPLICA_RETRY = RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.5, deadline=5.0)
# Subscribers come back quickly once their proxy is enabled again.
SUBSCRIBER_RECONNECT = RetryPolicy(max_attempts=None, base_delay=0.05, max_delay=0.5,
                                   deadline=120.0)
POLL_INTERVAL_S = 0.05
# How long past its planned end a schedule may take to finish playing (starts and stops of
# faults are Toxiproxy calls).
SCHEDULE_GRACE_S = 30.0


@dataclass
class ProfileRun:
    """What one profile's run recorded, beside the shared History."""

    name: str
    history: History
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    syncs: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # change id -> local op
    acks: list[dict[str, Any]] = field(default_factory=list)
    creates: dict[str, int] = field(default_factory=dict)
    played: list[dict[str, Any]] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)  # see `run_profile`
    recorder: Any = None  # a generated run's syncbench.explore.records.Recorder
    extra: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # a Watch's rows


async def run_profile(params: SyncParams, workload: Workload, schedule: FaultSchedule,
                      run: ProfileRun, environment: dict[str, Any]) -> None:
    """Run the workload under `run.name` on a fresh stack; fills `run` (outcome: states,
    log, conflicts, pending, convergence figures)."""
    config = StackConfig(groups=params.groups, server_options=seeded_bug_options(params),
                         **params.stack_options(), replicas=params.servers,
                         base_profile=run.name)
    async with Stack(config) as stack:
        if stack.toxiproxy_info is not None:
            environment["toxiproxy_version"] = stack.toxiproxy_info.version
        environment["store"] = await asyncio.to_thread(stack.store_description)
        replicas = {
            plan.replica: stack.replica(
                plan.replica, plan.group, plan.repository,
                client_options={"retry": REPLICA_RETRY, "observer": run.history.observe_attempt,
                                "timeout": 10.0})
            for plan in workload.replicas
        }
        # in this process, or spread over Ray actors (subscriber_actors): one code path
        fleet = await SubscriberFleet.start(actors=params.subscriber_actors,
                                            address=params.ray_address or None)
        try:
            await fleet.follow(
                [(sub.subscriber, stack.ws_url(sub.group), dict.fromkeys(workload.repositories, 0))
                 for sub in workload.subscribers],
                timeout_s=SUBSCRIBE_TIMEOUT_S, reconnect=SUBSCRIBER_RECONNECT,
                heartbeat_timeout=5.0)
            await _play(params, workload, schedule, run, stack, replicas, fleet)
        finally:
            environment.setdefault("subscriber_placement", {})[run.name] = fleet.describe()
            await fleet.stop()


async def _play(params: SyncParams, workload: Workload, schedule: FaultSchedule,
                run: ProfileRun, stack: Stack, replicas: Mapping[str, Replica],
                fleet: SubscriberFleet) -> None:
    """Play the workload and the schedule, heal, converge; fill `run.outcome`."""
    nemesis = Nemesis(stack, run.history, phase=run.name)
    mine = schedule.for_phase(run.name)
    async with nemesis.playing(mine) as faults:
        await asyncio.gather(*(_drive_replica(params, plan, replicas[plan.replica], run)
                               for plan in workload.replicas))
        # the whole schedule plays, however quick the workload: a replay plays it again
        await nemesis.wait(faults, mine.length + SCHEDULE_GRACE_S)
    await nemesis.heal()
    # windows without a phase play in every phase; as played, each names its own
    run.played = [{"phase": run.name, **window} for window in nemesis.played]

    writes = [op for op in run.history.operations
              if op.args.get("profile") == run.name and op.operation.startswith("local_")]
    last_write = max(op.complete_time or op.invoke_time for op in writes)
    converged_at, rounds = await _sync_until_converged(params, workload, replicas, stack,
                                                       run)
    last_seqs = {repo: await _last_seq(stack, repo) for repo in workload.repositories}
    caught_up = await _wait_for_subscribers(fleet, last_seqs, params.delivery_timeout_s)

    run.outcome = await _final_state(stack, workload, replicas, run.name)
    stats = await fleet.feed_stats()
    # every group's deliveries, arrivals on this process's clock
    run.deliveries += [{"profile": run.name, **row} for row in await fleet.collect()]
    run.outcome.update(
        profile=run.name,
        converged=converged_at is not None,
        convergence_s=(converged_at - last_write) if converged_at is not None else math.nan,
        last_write_time=last_write,
        converged_time=converged_at,
        final_rounds=rounds,
        subscribers_caught_up=caught_up,
        **stats,
    )


async def _drive_replica(params: SyncParams, plan: ReplicaPlan, replica: Replica,
                         run: ProfileRun) -> None:
    for step in plan.steps:
        await asyncio.sleep(step.think_s)
        if step.action == "sync":
            await _sync(replica, plan, params.strategy, "periodic", run)
        else:
            await _write(replica, plan, step, run)


async def _write(replica: Replica, plan: ReplicaPlan, step: Step, run: ProfileRun) -> None:
    live = await asyncio.to_thread(replica.list)
    action = step.action if live else "create"
    base = {"profile": run.name, "repository": plan.repository, "step": step.index}
    if action == "create":
        number = run.creates[plan.replica] = run.creates.get(plan.replica, -1) + 1
        key = f"{plan.replica}.{number}"
        async with run.history.record(plan.replica, "local_create", key=key, **base) as op:
            task = await asyncio.to_thread(replica.add, key, status=step.status,
                                           priority=step.priority)
            op.note(task_id=task.id)
    else:
        target = live[min(len(live) - 1, int(step.pick * len(live)))]
        key = content_key(target.content)
        async with run.history.record(plan.replica, f"local_{action}", key=key,
                                      task_id=target.id, **base) as op:
            if action == "update":
                await asyncio.to_thread(replica.edit, target.id, content=f"{key} v{step.index}",
                                        status=step.status, priority=step.priority)
            else:
                await asyncio.to_thread(replica.rm, target.id)
    pending = await asyncio.to_thread(replica.pending_changes)
    # an edit that changes nothing queues nothing: the last change is then an older one
    if op.outcome == OK and pending and pending[-1].change_id not in run.changes:
        change = pending[-1]
        run.changes[change.change_id] = {
            "local_op_id": op.op_id, "kind": action, "key": key, "task_id": op.op.task_id,
            **{name: getattr(change.task, name) for name in TASK_FIELDS},
        }


async def _sync(replica: Replica, plan: ReplicaPlan, strategy: str, stage: str,
                run: ProfileRun) -> None:
    """One sync (`stage`: periodic or final), recorded; each change that left the outbox
    meanwhile is acknowledged by it."""
    before = [c.change_id for c in await asyncio.to_thread(replica.pending_changes)]
    report = None
    async with run.history.record(plan.replica, "sync", profile=run.name, stage=stage,
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
    acknowledged = [change_id for change_id in before if change_id not in after]
    for change_id in acknowledged:
        local = run.changes.get(change_id, {})
        run.acks.append({
            "profile": run.name, "replica": plan.replica, "repository": plan.repository,
            "change_id": change_id, "sync_op_id": op.op_id, "sync_outcome": op.outcome,
            "local_op_id": local.get("local_op_id"), "kind": local.get("kind"),
            "key": local.get("key"), "task_id": local.get("task_id"),
            **{name: local.get(name) for name in TASK_FIELDS},
        })
    run.syncs.append({
        "profile": run.name, "replica": plan.replica, "op_id": op.op_id, "stage": stage,
        "outcome": op.outcome, "queued": len(before), "acknowledged": len(acknowledged),
        "pushed": report.pushed if report else None,
        "pulled": report.pulled if report else None,
        "applied": report.applied if report else None,
        "conflicts": len(report.conflicts) if report else None,
        "round_trips": report.round_trips if report else None,
        "attempts": len(op.op.attempt_outcomes or ()),
        "duration_s": op.op.latency_s,
    })


async def _sync_until_converged(params: SyncParams, workload: Workload,
                                replicas: Mapping[str, Replica], stack: Stack,
                                run: ProfileRun) -> tuple[float | None, int]:
    """Sync every replica in rounds until all agree with the server; (when, rounds)."""
    deadline = time.monotonic() + params.converge_timeout_s
    rounds = 0
    while True:
        rounds += 1
        await asyncio.gather(*(_sync(replicas[plan.replica], plan, params.strategy, "final",
                                     run) for plan in workload.replicas))
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
            states[plan.replica] = {task_id: _compared(task) for task_id, task in snapshot.items()}
    return states


def _compared(task: Any) -> dict[str, Any]:
    """A replica's LocalTask as convergence compares it: its fields and version."""
    return {name: getattr(task, name) for name in (*TASK_FIELDS, "version")}


async def _last_seq(stack: Stack, repository: str) -> int:
    log = await stack.change_log(repository)
    return log[-1]["seq"] if log else 0


async def _wait_for_subscribers(fleet: SubscriberFleet, last_seqs: Mapping[str, int],
                                timeout: float) -> bool:
    """Whether every subscriber reached the server's last seq of each repository in time."""
    deadline = time.monotonic() + timeout
    while True:
        positions = await fleet.positions()
        if all(position.get(repo, 0) >= seq for position in positions.values()
               for repo, seq in last_seqs.items()):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_INTERVAL_S)


async def _final_state(stack: Stack, workload: Workload, replicas: Mapping[str, Replica],
                       profile: str) -> dict[str, Any]:
    """States, change logs, conflicts and leftover outboxes at the end of a profile's run."""
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


__all__ = ["REPLICA_RETRY", "SUBSCRIBER_RECONNECT", "TASK_FIELDS", "ProfileRun", "run_profile"]
