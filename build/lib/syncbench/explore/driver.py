"""A generated schedule played on a Stack: each client's ops in order, clients concurrently.

    ctx = RunContext(stack, history, Recorder(profile), nemesis, DriverConfig(profile), ...)
    driver = Driver(ctx, replica_repositories={"r0": "tasks-0"})
    await driver.run(schedule)          # one History op per schedule op
    outcome = await driver.settle()     # final syncs, final drain, final reads

Deterministic given the schedule, apart from timing: every choice was made by the
generator, and names are resolved from what each client saw. Bounded: every op has the
op deadline, the final sync rounds and the drain theirs. `settle` expects the nemesis to
have healed (the caller plays the fault schedule around `run`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from syncbench.checks import convergence
from syncbench.explore.actors import ReplicaActor, SubscriberActor
from syncbench.explore.cli_actor import CliActor
from syncbench.explore.context import RunContext
from syncbench.explore.http_actor import HttpActor
from syncbench.explore.listener import Listener
from syncbench.explore.records import shown_content
from syncbench.progress import LiveProgress, live_progress
from tasksync.models import EDITABLE_FIELDS

WRITE_OPERATIONS = frozenset({"create", "update", "delete", "batch", "retry_create",
                              "retry_update", "retry_delete", "retry_batch", "local_create",
                              "local_update", "local_delete", "cli_add", "cli_edit", "cli_done",
                              "cli_rm", "cli_resolve"})
POLL_INTERVAL_S = 0.05

Actor = HttpActor | ReplicaActor | SubscriberActor | CliActor


class Driver:
    """Plays schedules in `ctx`; replicas (r*) and CLI replicas (k*) hold the repositories
    `replica_repositories` says."""

    def __init__(self, ctx: RunContext, replica_repositories: Mapping[str, str],
                 listeners: Mapping[str, str] | None = None) -> None:
        self.ctx = ctx
        self.replica_repositories = dict(replica_repositories)
        self.actors: dict[str, Actor] = {}
        # name -> proxy group: WebSocketClient subscribers live for the whole run
        self.listeners = [Listener(ctx, name, group)
                          for name, group in (listeners or {}).items()]
        self._subscribed = False

    def actor(self, client: str) -> Actor:
        """The actor playing `client`'s ops (made on first use): c* HTTP, r* replica,
        s* subscriber, k* CLI replica."""
        if client not in self.actors:
            role = client[:1]
            if role == "c":
                self.actors[client] = HttpActor(self.ctx, client)
            elif role == "r":
                repository = self.replica_repositories.get(client, self.ctx.repositories[0])
                self.actors[client] = ReplicaActor(self.ctx, client, repository)
            elif role == "s":
                self.actors[client] = SubscriberActor(self.ctx, client)
            elif role == "k":
                repository = self.replica_repositories.get(client, self.ctx.repositories[0])
                self.actors[client] = CliActor(self.ctx, client, repository)
            else:
                raise ValueError(f"client {client!r}: names start with c (HTTP client), "
                                 "r (replica), s (subscriber) or k (CLI replica)")
        return self.actors[client]

    async def prepare(self, schedule: Sequence[dict[str, Any]]) -> None:
        """Make every actor `schedule` needs and subscribe the listeners: before a fault
        schedule starts, so a fault at its very start (a crash, a pause) meets a running
        workload rather than a subscriber still connecting."""
        # every replica exists from the start, so that the final rounds reach all of them
        for client in [*dict.fromkeys(op["client"] for op in schedule),
                       *self.replica_repositories]:
            self.actor(client)
        if not self._subscribed:  # once: a second schedule plays on the same listeners
            await asyncio.gather(*(listener.start() for listener in self.listeners))
            self._subscribed = True

    async def run(self, schedule: Sequence[dict[str, Any]]) -> None:
        """Play `schedule`: each client's ops in order, after its pause; clients at once."""
        lanes: dict[str, list[dict[str, Any]]] = {}
        for op in schedule:
            lanes.setdefault(op["client"], []).append(op)
        await self.prepare(schedule)
        phase = f"{self.ctx.profile}: workload" if self.ctx.profile else "workload"
        with live_progress(phase, len(schedule), self.ctx.history) as progress:
            await asyncio.gather(*(self._lane(self.actors[client], ops, progress)
                                   for client, ops in lanes.items()))

    async def _lane(self, actor: Actor, ops: list[dict[str, Any]],
                    progress: LiveProgress) -> None:
        for op in ops:
            pause = float(op.get("pause") or 0.0)
            await (actor.idle(pause) if isinstance(actor, CliActor) else asyncio.sleep(pause))
            await actor.run(op)
            progress.advance()

    # -- the end ------------------------------------------------------------------------------

    @property
    def replicas(self) -> list[ReplicaActor | CliActor]:
        """Every replica, in-process and CLI: each syncs in the final rounds and holds a
        final state."""
        return [a for a in self.actors.values() if isinstance(a, ReplicaActor | CliActor)]

    @property
    def subscribers(self) -> list[SubscriberActor]:
        return [a for a in self.actors.values() if isinstance(a, SubscriberActor)]

    async def settle(self) -> dict[str, Any]:
        """Final sync rounds until replicas and server agree, the subscribers' final drain,
        the final reads; the outcome (as the sync study's: states, log, conflicts, pending,
        convergence figures). Fills `final_states` and `change_log`."""
        ctx = self.ctx
        writes = [op for op in ctx.history.operations
                  if op.args.get("profile") == ctx.profile and op.operation in WRITE_OPERATIONS]
        last_write = max((op.complete_time or op.invoke_time for op in writes), default=time.time())
        converged_at, rounds = await self._sync_until_converged()
        last_seqs = {repo: await _last_seq(ctx, repo) for repo in ctx.repositories}
        drained = await asyncio.gather(*(subscriber.drain(last_seqs, ctx.config.delivery_timeout_s)
                                         for subscriber in [*self.subscribers, *self.listeners]))
        outcome = await self._final_state()
        for subscriber in self.subscribers:
            await subscriber.feed.close()
        for listener in self.listeners:
            await listener.close()
        deliveries = ctx.recorder.rows["deliveries"]
        seen: set[tuple[Any, ...]] = set()
        duplicates = 0
        for row in deliveries:
            key = (row["subscriber"], row["connection"], row["repository"], row["seq"])
            duplicates += key in seen
            seen.add(key)
        outcome.update(
            profile=ctx.profile, converged=converged_at is not None,
            convergence_s=(converged_at - last_write) if converged_at is not None else math.nan,
            last_write_time=last_write, converged_time=converged_at, final_rounds=rounds,
            subscribers_caught_up=all(drained),
            reconnects=sum(max(0, s.feed.connection - 1) for s in self.subscribers),
            listener_reconnects=sum(max(0, li.connection - 1) for li in self.listeners),
            duplicates_dropped=duplicates,
            drain_connections={s.name: s.feed.connection for s in self.subscribers},
            drain_positions={s.name: {row["repository"]: row["after"]
                                      for row in ctx.recorder.rows["subscriptions"]
                                      if row["subscriber"] == s.name
                                      and row["connection"] == s.feed.connection}
                             for s in self.subscribers})
        return outcome

    async def _sync_until_converged(self) -> tuple[float | None, int]:
        """Sync every replica in rounds until all agree with the server; (when, rounds)."""
        replicas = self.replicas
        deadline = time.monotonic() + self.ctx.config.converge_timeout_s
        rounds = 0
        while True:
            rounds += 1
            await asyncio.gather(*(replica.sync(None, stage="final") for replica in replicas))
            if await self._converged():
                return time.time(), rounds
            if time.monotonic() >= deadline:
                return None, rounds
            await asyncio.sleep(POLL_INTERVAL_S)

    async def _converged(self) -> bool:
        for replica in self.replicas:
            if await asyncio.to_thread(replica.replica.pending_count):
                return False
        for repository in self.ctx.repositories:
            if not convergence(await self._states(repository), compare_versions=True).passed:
                return False
        return True

    async def _states(self, repository: str) -> dict[str, dict[str, Any]]:
        states: dict[str, dict[str, Any]] = {
            "server": await self.ctx.stack.server_tasks(repository)}
        for replica in self.replicas:
            if replica.repository == repository:
                snapshot = await asyncio.to_thread(replica.replica.tasks)
                states[replica.name] = {
                    task_id: {name: getattr(task, name) for name in (*EDITABLE_FIELDS, "version")}
                    for task_id, task in snapshot.items()}
        return states

    async def _final_state(self) -> dict[str, Any]:
        """States, change logs, conflicts and leftover outboxes at the end; the frames'
        final_states and change_log rows."""
        ctx = self.ctx
        states = {repo: await self._states(repo) for repo in ctx.repositories}
        for repository, holders in states.items():
            for holder, tasks in holders.items():
                for task_id, task in tasks.items():
                    ctx.recorder.add(
                        "final_states", holder=holder, repository=repository, task_id=task_id,
                        version=task["version"], deleted=bool(task["deleted"]),
                        content=shown_content(task["content"]), status=task["status"],
                        priority=task["priority"])
        log_rows = []
        for repository in ctx.repositories:
            for event in await ctx.stack.change_log(repository):
                task = event["task"]
                row = {"profile": ctx.profile, "repository": repository, "seq": event["seq"],
                       "type": event["type"], "task_id": event["task_id"],
                       "version": event["version"], "origin": event["origin"],
                       "timestamp": event["timestamp"],
                       **{name: task[name] for name in EDITABLE_FIELDS},
                       "content": shown_content(task["content"])}
                log_rows.append(row)
                ctx.recorder.rows["change_log"].append(row)
        conflict_rows, pending_rows = [], []
        for replica in self.replicas:
            for conflict in await asyncio.to_thread(replica.replica.conflicts):
                conflict_rows.append({
                    "profile": ctx.profile, "replica": replica.name,
                    "repository": replica.repository, "change_id": conflict.change_id,
                    "task_id": conflict.task_id, "conflict_id": conflict.conflict_id,
                    "strategy": conflict.strategy, "winner": conflict.winner,
                    "base_version": conflict.base_version})
            for change in await asyncio.to_thread(replica.replica.pending_changes):
                pending_rows.append({
                    "profile": ctx.profile, "replica": replica.name,
                    "repository": replica.repository, "change_id": change.change_id,
                    "task_id": change.task_id})
        return {"states": states, "log": log_rows, "conflicts": conflict_rows,
                "pending": pending_rows}


def played_steps(schedule: Sequence[dict[str, Any]]) -> list[int]:
    """The steps of the History ops playing `schedule` makes, sorted: one per op, and a
    replay_under_writes one more per create it sends."""
    return sorted(op["step"] for op in schedule for _ in range(1 + len(op.get("writes", ()))))


async def _last_seq(ctx: RunContext, repository: str) -> int:
    log = await ctx.stack.change_log(repository)
    return log[-1]["seq"] if log else 0


__all__ = ["Driver", "WRITE_OPERATIONS", "played_steps"]
