"""The other two roles of a generated run: CLI replicas and WebSocket subscribers.

A replica (tasksync.replica.Replica, its own SQLite file) edits locally and syncs; `offline`
and `online` put its proxy group out and back through the nemesis (recorded as faults), so
its writes queue meanwhile. After every sync its state is compared with the server's
(`replica_syncs`), and each change that left its outbox is acknowledged (the rows the sync
study's own checks read). A subscriber is a `Feed`: each subscribe or resume a new
connection from a position, recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from syncbench.checks import content_key
from syncbench.explore.context import RunContext, observed, position
from syncbench.explore.feed import Feed, FeedError
from syncbench.explore.gates import WS_PROBES, ws_answer
from syncbench.explore.http_actor import HttpActor
from syncbench.history import OK, attempt_applied_nothing
from syncbench.nemesis import ActiveFault
from tasksync.client.errors import TaskSyncError
from tasksync.models import EDITABLE_FIELDS
from tasksync.replica import Replica, SyncError
from tasksync.replica.records import LocalTask

COMPARED = (*EDITABLE_FIELDS, "version")


def _snapshot(task: Any) -> tuple[Any, ...]:
    """What replica and server states are compared on: fields and version."""
    get = task.get if isinstance(task, dict) else lambda name: getattr(task, name)
    return tuple(bool(get(name)) if name == "deleted" else get(name) for name in COMPARED)


def differing_tasks(local: dict[str, Any], server: dict[str, Any]) -> int:
    """How many task ids the two states disagree on (absent on one side counts)."""
    return sum(1 for task_id in set(local) | set(server)
               if task_id not in local or task_id not in server
               or _snapshot(local[task_id]) != _snapshot(server[task_id]))


class ReplicaActor:
    """Replica `name` of `repository`, syncing through its own proxy group."""

    def __init__(self, ctx: RunContext, name: str, repository: str) -> None:
        self.ctx = ctx
        self.name = name
        self.repository = repository
        self.group = ctx.group_of(name)
        self.replica: Replica = ctx.stack.replica(name, self.group, repository,
                                                  client_options=ctx.client_options(),
                                                  pull_limit=ctx.config.replica_pull_limit)
        self.offline_fault: ActiveFault | None = None

    async def run(self, op: dict[str, Any]) -> None:
        await getattr(self, f"_{op['op']}")(op)

    def _live(self) -> list[LocalTask]:
        return self.replica.list()

    def _target(self, op: dict[str, Any], live: list[LocalTask]) -> LocalTask | None:
        """The task an edit names: by content key (`key_of`) when the replica has it, else
        the pick-th of its live tasks."""
        if op.get("key_of"):
            named = [task for task in live if content_key(task.content) == op["key_of"]]
            if named:
                return named[0]
        if not live:
            return None
        return live[min(len(live) - 1, int(float(op.get("pick", 0.0)) * len(live)))]

    async def _local_create(self, op: dict[str, Any]) -> None:
        key = op["key"]
        async with self.ctx.op(self.name, op, "local_create", key=key,
                               repository=self.repository) as (handle, _):
            task = await asyncio.to_thread(self.replica.add, f"{key} new", status=op["status"],
                                           priority=op["priority"])
            handle.note(task_id=task.id)
        await self._queued(handle, "create", key)

    async def _local_update(self, op: dict[str, Any]) -> None:
        await self._local_edit(op, "update")

    async def _local_delete(self, op: dict[str, Any]) -> None:
        await self._local_edit(op, "delete")

    async def _local_edit(self, op: dict[str, Any], action: str) -> None:
        target = self._target(op, await asyncio.to_thread(self._live))
        key = content_key(target.content) if target else None
        async with self.ctx.op(self.name, op, f"local_{action}", key=key,
                               task_id=target.id if target else None,
                               repository=self.repository, key_of=op.get("key_of")) as (handle, _):
            if target is None:
                handle.fail("no live task in this replica to edit")
            elif action == "update":
                await asyncio.to_thread(
                    self.replica.edit, target.id, content=f"{key} {op['content_suffix']}",
                    status=op.get("status"), priority=op.get("priority"))
            else:
                await asyncio.to_thread(self.replica.rm, target.id)
        if target is not None:
            await self._queued(handle, action, key, target.id)

    async def _queued(self, handle: Any, action: str, key: str | None,
                      task_id: str | None = None) -> None:
        """Remember the change a local write queued (an edit that changes nothing queues
        nothing: the newest change is then an older one, already remembered)."""
        if handle.outcome != OK:
            return
        pending = await asyncio.to_thread(self.replica.pending_changes)
        if pending:
            self.ctx.remember_change(self.name, handle, action, pending[-1], key,
                                     task_id or handle.op.task_id)

    async def _offline(self, op: dict[str, Any]) -> None:
        async with self.ctx.op(self.name, op, "offline", group=self.group):
            if self.offline_fault is None:
                self.offline_fault = await self.ctx.nemesis.start("offline", self.group)

    async def _online(self, op: dict[str, Any]) -> None:
        async with self.ctx.op(self.name, op, "online", group=self.group):
            fault, self.offline_fault = self.offline_fault, None
            if fault is not None:
                await self.ctx.nemesis.stop(fault)

    async def _sync(self, op: dict[str, Any]) -> None:
        await self.sync(op)

    async def sync(self, op: dict[str, Any] | None, stage: str = "periodic",
                   strategy: str | None = None) -> None:
        """One sync, recorded; the changes that left the outbox meanwhile are acknowledged by
        it; then the replica's state against the server's."""
        ctx = self.ctx
        strategy = strategy or (op or {}).get("strategy") or ctx.config.strategy
        before = [c.change_id for c in await asyncio.to_thread(self.replica.pending_changes)]
        report = None
        async with ctx.op(self.name, op, "sync", stage=stage, strategy=strategy,
                          repository=self.repository, queued=len(before)) as (handle, _):
            try:
                report = await self.replica.sync(strategy)
            except SyncError as exc:
                tried = handle.op.attempt_outcomes
                if tried and all(attempt_applied_nothing(outcome) for outcome in tried):
                    handle.fail(exc)
                else:
                    handle.info(exc)
            else:
                handle.note(seq=report.cursor)
        after = {c.change_id for c in await asyncio.to_thread(self.replica.pending_changes)}
        acknowledged = ctx.acknowledge(self.name, self.repository, handle, before, after)
        ctx.syncs.append({
            "profile": ctx.profile, "replica": self.name, "repository": self.repository,
            "op_id": handle.op_id, "stage": stage,
            "outcome": handle.outcome, "queued": len(before), "acknowledged": acknowledged,
            "pushed": report.pushed if report else None,
            "pulled": report.pulled if report else None,
            "applied": report.applied if report else None,
            "conflicts": len(report.conflicts) if report else None,
            "round_trips": report.round_trips if report else None,
            "resynced": report.resynced if report else None,
            "gap_after": report.gap[0] if report and report.gap else None,
            "gap_first": report.gap[1] if report and report.gap else None,
            "attempts": len(handle.op.attempt_outcomes or ()),
            "duration_s": handle.op.latency_s})
        await self.compare(handle.op_id, started=handle.op.invoke_time, pending=len(after))

    async def compare(self, op_id: int | None, *, started: float | None = None,
                      pending: int | None = None) -> bool:
        """Record this replica's state against the server's now; whether they match.

        `started`: when the sync began (other replicas' syncs overlapping it may have
        changed the server meanwhile); `pending`: changes its outbox still holds after it.
        """
        server = await observed(self.ctx.stack.server_tasks(self.repository))
        if server is None:  # the server is down or paused (a fault): nothing to compare
            return False
        local = await asyncio.to_thread(self.replica.tasks)
        differing = differing_tasks(local, server)
        if pending is None:
            pending = await asyncio.to_thread(self.replica.pending_count)
        self.ctx.recorder.add(
            "replica_syncs", replica=self.name, op_id=op_id, time=time.time(),
            repository=self.repository, cursor=await asyncio.to_thread(self.replica.cursor),
            matches_server=differing == 0, differing_tasks=differing,
            started=started if started is not None else time.time(), pending=pending)
        return differing == 0


class SubscriberActor:
    """Subscriber `name`: subscribe, resume and unsubscribe at chosen positions."""

    def __init__(self, ctx: RunContext, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self.feed = Feed(name, ctx.stack.ws_url(ctx.group_of(name)), ctx.recorder,
                         answer_timeout=ctx.config.answer_timeout_s)
        self.writer: HttpActor | None = None  # made for the first replay_under_writes

    async def run(self, op: dict[str, Any]) -> None:
        await getattr(self, f"_{op['op']}")(op)

    async def _subscribe(self, op: dict[str, Any]) -> None:
        repositories = [repo for repo in op["repositories"] if repo in self.ctx.repositories] \
            or list(self.ctx.repositories)
        positions = {repo: position(op["at"], self.feed.known_last(repo)) for repo in repositories}
        await self._open(op, "subscribe", positions)

    async def _resume(self, op: dict[str, Any] | None) -> None:
        repositories = sorted(self.feed.subscribed) or list(self.ctx.repositories)
        positions = {repo: self.feed.last_delivered.get(repo, 0) for repo in repositories}
        await self._open(op, "resume", positions)

    async def _open(self, op: dict[str, Any] | None, action: str,
                    positions: dict[str, int], sent: asyncio.Event | None = None) -> None:
        async with self.ctx.op(self.name, op, action, positions=positions) as (handle, _):
            try:
                last = await self.feed.open(positions, action, handle.op_id, sent)
            except FeedError as exc:
                handle.fail(exc)  # a subscription changes nothing on the server
            else:
                handle.op.args["server_last"] = last
                handle.note(seq=max(last.values(), default=0))

    async def _replay_under_writes(self, op: dict[str, Any]) -> None:
        """Subscribe from near where `op`'s repository's retained log starts and, once the
        subscribe message is sent, play the op's creates one after another as HTTP client
        `name` (none if the subscribe never went out)."""
        repository = op["repository"] if op["repository"] in self.ctx.repositories \
            else self.ctx.repositories[0]
        # an observer's read, not the probe's (none while a fault keeps the server away)
        log = await observed(self.ctx.stack.change_log(repository)) or []
        # a quarter in: the oldest events may be pruned by the time the subscribe arrives
        after = log[len(log) // 4]["seq"] - 1 if log else 0
        if self.writer is None:
            self.writer = HttpActor(self.ctx, self.name)
        with contextlib.suppress(TaskSyncError):  # a connection ready for the first write
            await self.writer.http.noop()
        sent = asyncio.Event()
        opening = asyncio.create_task(self._open(op, "subscribe", {repository: after}, sent))
        waiting = asyncio.create_task(sent.wait())
        await asyncio.wait({opening, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        try:
            for write in op["writes"] if sent.is_set() else ():
                await self.writer.run({**op, "op": "create", "repository": repository,
                                       "task_id": None, **write})
        finally:
            await opening

    async def _ws_gate(self, op: dict[str, Any]) -> None:
        """A message the server must refuse, on the open connection (explore/gates.py)."""
        async with self.ctx.op(self.name, op, "gate", probe=op["probe"],
                               writes=False) as (handle, _):
            try:
                error, still_open = await self.feed.probe(WS_PROBES[op["probe"]][1])
            except FeedError as exc:
                handle.fail(exc)  # not connected, or no answer: nothing to hold it to
                return
            handle.op.args.update(ws_answer(op["probe"], error.error, still_open))

    async def _unsubscribe(self, op: dict[str, Any]) -> None:
        async with self.ctx.op(self.name, op, "unsubscribe",
                               repositories=op["repositories"]) as (handle, _):
            try:
                await self.feed.unsubscribe(op["repositories"], handle.op_id)
            except FeedError as exc:
                handle.fail(exc)

    async def drain(self, last_seqs: dict[str, int], timeout: float) -> bool:
        """The final drain: resume every repository from the last seq delivered and wait
        until each reached the server's last seq; whether all did in time."""
        self.feed.subscribed = set(last_seqs)
        async with self.ctx.op(self.name, None, "final_drain") as (handle, _):
            positions = {repo: self.feed.last_delivered.get(repo, 0) for repo in last_seqs}
            try:
                await self.feed.open(positions, "resume", handle.op_id)
            except FeedError as exc:
                handle.fail(exc)
                return False
            handle.op.args["positions"] = positions
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.feed.last_delivered.get(repo, 0) >= seq
                   for repo, seq in last_seqs.items()):
                return True
            await asyncio.sleep(0.05)
        return False


__all__ = ["ReplicaActor", "SubscriberActor", "differing_tasks"]
