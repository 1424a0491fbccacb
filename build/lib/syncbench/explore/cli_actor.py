"""A CLI replica of a generated run (`k0`, ...): the real `tasksync` command, one process per
command, on its own replica file, through its own proxy group.

    actor = CliActor(ctx, "k0", "tasks-0")
    await actor.run({"step": 3, "client": "k0", "op": "cli_sync", "kind": "cli_sync",
                     "strategy": "server_wins"})

Each command is one History op (`cli_add`, `cli_edit`, `cli_done`, `cli_rm`, `cli_list`,
`cli_sync`, `cli_conflicts`, `cli_resolve`, `cli_watch`) with its command words, exit code
and one-line error (cli_process.py says how an exit becomes ok, fail or info). The
replica's file is read in-process between commands, never while one runs (`CliReplicaFile`):
to name tasks as a user would (an own or pulled task, by a prefix of its id), to remember
the change each local write queued and acknowledge it when a sync empties it from the
outbox (the sync study's `acknowledged` rows, as for in-process replicas), and, after every
completed `sync` and `watch`, to compare the replica's state with the server's
(`replica_syncs`; `pending` counts queued changes and open manual conflicts, both of which
keep the local view apart from the server's). The driver's final sync rounds sync it as
they sync the other replicas, resolving open manual conflicts first (keeping the server's).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from syncbench.checks import content_key
from syncbench.explore.actors import differing_tasks
from syncbench.explore.cli_process import (
    CliRun,
    RunningCommand,
    outcome_of,
    run_cli,
    sync_summary,
    unique_prefix,
    unresolved_conflicts,
    watch_summary,
)
from syncbench.explore.context import RunContext, observed
from syncbench.history import FAIL, INFO, OK, OpHandle
from tasksync.replica import ConflictRecord, LocalTask, PendingChange, Replica

# A command's deadline: above a sync's own retry deadline (tasksync.replica.sync's
# REPLICA_RETRY gives up after 15 s), below the run's op deadline (DriverConfig: 20 s).
CLI_DEADLINE_S = 16.0
WATCH_GRACE_S = 8.0  # a watch's deadline is its --seconds plus this (start-up, connecting)

T = TypeVar("T")


class CliReplicaFile:
    """A CLI replica's file, read in short visits: opened, read and closed each time, so it
    is never held open while a `tasksync` process works on it. Its methods answer as a
    Replica's do (the driver reads every replica alike)."""

    def __init__(self, path: Path, repository: str) -> None:
        self.path = path
        self.repository = repository

    def _visit(self, read: Callable[[Replica], T]) -> T:
        # Only reads: the file exists with its tables and client id, so opening writes nothing.
        with Replica(self.path, repository=self.repository) as replica:
            return read(replica)

    def list(self, include_deleted: bool = False) -> list[LocalTask]:
        return self._visit(lambda replica: replica.list(include_deleted))

    def tasks(self) -> dict[str, LocalTask]:
        return self._visit(Replica.tasks)

    def pending_changes(self) -> list[PendingChange]:
        return self._visit(Replica.pending_changes)

    def pending_count(self) -> int:
        return self._visit(Replica.pending_count)

    def cursor(self) -> int:
        return self._visit(Replica.cursor)

    def conflicts(self, unresolved_only: bool = False) -> list[ConflictRecord]:
        return self._visit(lambda replica: replica.conflicts(unresolved_only))

    def state(self) -> tuple[dict[str, LocalTask], int, int]:
        """Tasks, cursor, and what keeps the local view apart from the server's: queued
        changes plus open manual conflicts; in one visit."""
        return self._visit(lambda replica: (
            replica.tasks(), replica.cursor(),
            replica.pending_count() + len(replica.conflicts(unresolved_only=True))))


IDLE_STEP_S = 0.05  # how soon an idle replica notices a client crash waiting on it


class CliActor:
    """CLI replica `name` of `repository`: a `tasksync` process per command, through its own
    proxy group; client id `name` (stored in its file before the first command)."""

    def __init__(self, ctx: RunContext, name: str, repository: str) -> None:
        self.ctx = ctx
        self.name = name
        self.repository = repository
        self.group = ctx.group_of(name)
        path = ctx.stack.workdir / f"cli-{name}.db"
        # The CLI has no client-id option: it keeps the id stored in the file, so store ours.
        Replica(path, client_id=name, repository=repository).close()
        self.replica = CliReplicaFile(path, repository)
        self.options = ("--replica", str(path), "--server", ctx.stack.url(self.group),
                        "--repo", repository)
        # the command running now, where the stack's client crash fault finds it
        self.processes: list[RunningCommand] = ctx.stack.client_commands.setdefault(name, [])
        self.open_conflicts: list[str] = []  # as the last `tasksync conflicts` listed them

    async def run(self, op: dict[str, Any]) -> None:
        """Play one op of the schedule."""
        await getattr(self, f"_{op['op']}")(op)

    async def _command(self, handle: OpHandle, command: Sequence[str], *, queued: int = 0,
                       deadline_s: float = CLI_DEADLINE_S) -> CliRun:
        """Run one command inside `handle`'s op; its words, exit and error go into the op's
        args, and a failed exit completes the op (fail or info, see `outcome_of`)."""
        run = await run_cli(self.options, command, deadline_s=deadline_s,
                            started=self.processes)
        handle.op.args.update(run.args())
        outcome = outcome_of(run, queued=queued)
        if outcome == FAIL:
            handle.fail(run.error)
        elif outcome == INFO:
            handle.info(run.error)
        return run

    # -- local commands ------------------------------------------------------------------

    async def _cli_add(self, op: dict[str, Any]) -> None:
        command = ["add", "--status", op["status"], "--priority", op["priority"]]
        if op.get("task_id"):
            command += ["--id", op["task_id"]]
        async with self.ctx.op(self.name, op, "cli_add", key=op["key"],
                               repository=self.repository,
                               task_id=op.get("task_id")) as (handle, _):
            run = await self._command(handle, [*command, "--", op["content"]])
            if run.exit_code == 0:
                handle.note(task_id=run.stdout.strip() or None)
        await self._queued(handle, "create", op["key"])

    async def _target(self, op: dict[str, Any]) -> tuple[LocalTask | None, str | None]:
        """The task an edit names and how the command names it (its id, or the shortest
        prefix no other id shares): by content key (`key_of`) when held, else the pick-th
        of the own (content key of this replica) or pulled live tasks."""
        tasks = await asyncio.to_thread(self.replica.list, True)
        live = [task for task in tasks if not task.deleted]
        named = [task for task in live if op.get("key_of")
                 and content_key(task.content) == op["key_of"]]
        own = [task for task in live if content_key(task.content).startswith(f"{self.name}.")]
        pulled = [task for task in live if task not in own]
        pool = named or (own if op.get("own") else pulled) or live
        if not pool:
            return None, None
        target = pool[min(len(pool) - 1, int(float(op.get("pick", 0.0)) * len(pool)))]
        ids = [task.id for task in tasks]
        return target, unique_prefix(target.id, ids) if op.get("by_prefix") else target.id

    async def _cli_edit(self, op: dict[str, Any]) -> None:
        target, named = await self._target(op)
        key = content_key(target.content) if target else None
        command = ["done"] if op.get("done") else ["edit"]
        if op.get("content_suffix") and not op.get("done"):
            command += ["--content", f"{key} {op['content_suffix']}"]
        for name in ("status", "priority"):
            if op.get(name) and not op.get("done"):
                command += [f"--{name}", op[name]]
        await self._local_edit(op, f"cli_{command[0]}", "update", target, named, key, command)

    async def _cli_rm(self, op: dict[str, Any]) -> None:
        target, named = await self._target(op)
        key = content_key(target.content) if target else None
        await self._local_edit(op, "cli_rm", "delete", target, named, key, ["rm"])

    async def _local_edit(self, op: dict[str, Any], operation: str, action: str,
                          target: LocalTask | None, named: str | None, key: str | None,
                          command: list[str]) -> None:
        async with self.ctx.op(self.name, op, operation, key=key, named=named,
                               task_id=target.id if target else None,
                               repository=self.repository,
                               key_of=op.get("key_of")) as (handle, _):
            if target is None or named is None:
                handle.fail("no live task in this CLI replica to edit")
            else:
                await self._command(handle, [*command, "--", named])
        if target is not None:
            await self._queued(handle, action, key, target.id)

    async def _queued(self, handle: OpHandle, action: str, key: str | None,
                      task_id: str | None = None) -> None:
        """Remember the change a local command queued (one that changed nothing queued
        nothing: the newest change is then an older one, already remembered)."""
        if handle.outcome != OK:
            return
        pending = await asyncio.to_thread(self.replica.pending_changes)
        if pending:
            change = pending[-1]
            self.ctx.remember_change(self.name, handle, action, change,
                                     key or content_key(change.task.content),
                                     task_id or handle.op.task_id or change.task_id)

    async def _cli_list(self, op: dict[str, Any]) -> None:
        # The local list is no server reply: it goes into the History args, not observations.
        show_all = bool(op.get("all"))
        async with self.ctx.op(self.name, op, "cli_list", repository=self.repository,
                               all=show_all) as (handle, _):
            run = await self._command(handle, ["list", "--json", *(["--all"] if show_all
                                                                   else [])])
            if run.exit_code == 0:
                try:
                    rows = json.loads(run.stdout)
                except ValueError as exc:
                    handle.info(f"`tasksync list --json` printed no JSON array: {exc}")
                else:
                    handle.op.args.update(
                        listed=len(rows), unsynced=sum(bool(r.get("unsynced")) for r in rows),
                        in_conflict=sum(bool(r.get("in_conflict")) for r in rows),
                        deleted=sum(bool(r.get("deleted")) for r in rows))

    async def _cli_conflicts(self, op: dict[str, Any]) -> None:
        async with self.ctx.op(self.name, op, "cli_conflicts",
                               repository=self.repository) as (handle, _):
            run = await self._command(handle, ["conflicts"])
            if run.exit_code == 0:
                self.open_conflicts = unresolved_conflicts(run.stdout)
                handle.op.args["unresolved"] = list(self.open_conflicts)

    async def _cli_resolve(self, op: dict[str, Any]) -> None:
        ids = self.open_conflicts
        task_id = ids[min(len(ids) - 1, int(float(op.get("pick", 0.0)) * len(ids)))] \
            if ids else None
        await self._resolve(op, task_id, op["keep"])

    async def _resolve(self, op: dict[str, Any] | None, task_id: str | None, keep: str,
                       stage: str = "periodic") -> None:
        async with self.ctx.op(self.name, op, "cli_resolve", task_id=task_id, keep=keep,
                               stage=stage, repository=self.repository) as (handle, _):
            if task_id is None:
                handle.fail("no unresolved conflict: the last `tasksync conflicts` listed none")
            else:
                await self._command(handle, ["resolve", "--keep", keep, "--", task_id])
        if task_id is not None and handle.outcome == OK:
            self.open_conflicts = [other for other in self.open_conflicts if other != task_id]
            if keep == "local":  # the local side is queued again, on the server's version
                await self._queued(handle, "update", None, task_id)

    # -- commands that need the server ---------------------------------------------------------

    async def _cli_sync(self, op: dict[str, Any]) -> None:
        await self.sync(op)

    async def idle(self, seconds: float) -> None:
        """The pause before the next command; while a client crash waits on this replica
        (`stack.syncs_wanted`), background syncs (recorded, stage "background") meanwhile and
        past it, until the crash has killed one."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while self.name in self.ctx.stack.syncs_wanted or loop.time() < until:
            if self.name in self.ctx.stack.syncs_wanted:
                await self.sync(None, stage="background")
            else:
                await asyncio.sleep(min(IDLE_STEP_S, max(0.0, until - loop.time())))

    async def sync(self, op: dict[str, Any] | None, stage: str = "periodic",
                   strategy: str | None = None) -> None:
        """One `tasksync sync`, recorded; the changes that left the outbox meanwhile are
        acknowledged by it; then (when it completed) the replica's state against the
        server's. The final stage first resolves open manual conflicts (keeping the
        server's side), as a user would before expecting agreement."""
        ctx = self.ctx
        strategy = strategy or (op or {}).get("strategy") or ctx.config.strategy
        if stage == "final":
            open_ids = {c.task_id for c in await asyncio.to_thread(self.replica.conflicts, True)}
            for task_id in sorted(open_ids):
                await self._resolve(None, task_id, "server", stage)
        before = [c.change_id for c in await asyncio.to_thread(self.replica.pending_changes)]
        summary = None
        async with ctx.op(self.name, op, "cli_sync", stage=stage, strategy=strategy,
                          repository=self.repository, queued=len(before)) as (handle, _):
            run = await self._command(handle, ["sync", "--strategy", strategy],
                                      queued=len(before))
            summary = sync_summary(run.stdout) if run.exit_code == 0 else None
            if summary:
                handle.op.args.update(summary)
        after = {c.change_id for c in await asyncio.to_thread(self.replica.pending_changes)}
        acknowledged = ctx.acknowledge(self.name, self.repository, handle, before, after)
        ctx.syncs.append({
            "profile": ctx.profile, "replica": self.name, "repository": self.repository,
            "op_id": handle.op_id, "stage": stage,
            "outcome": handle.outcome, "queued": len(before), "acknowledged": acknowledged,
            **{name: (summary or {}).get(name)
               for name in ("pushed", "pulled", "applied", "conflicts", "round_trips",
                            "resynced", "gap_after", "gap_first")},
            "attempts": None,  # made in the CLI process, out of this History's sight
            "duration_s": handle.op.latency_s})
        if handle.outcome == OK:
            await self.compare(handle.op_id, started=handle.op.invoke_time)

    async def _cli_watch(self, op: dict[str, Any]) -> None:
        seconds = float(op["seconds"])
        async with self.ctx.op(self.name, op, "cli_watch", seconds=seconds,
                               repository=self.repository) as (handle, _):
            run = await self._command(handle, ["watch", "--seconds", f"{seconds:g}"],
                                      deadline_s=seconds + WATCH_GRACE_S)
            summary = watch_summary(run.stdout)
            if summary:
                handle.op.args.update(summary)
                handle.note(seq=summary["cursor"])
            if "went missing" in run.stderr:
                handle.op.args["behind"] = True
        if handle.outcome == OK:
            await self.compare(handle.op_id, started=handle.op.invoke_time)

    async def compare(self, op_id: int | None, *, started: float | None = None) -> bool:
        """Record this replica's state against the server's now (a `replica_syncs` row);
        whether they match. `started`: when the sync or watch began."""
        server = await observed(self.ctx.stack.server_tasks(self.repository))
        if server is None:  # the server is down or paused (a fault): nothing to compare
            return False
        local, cursor, pending = await asyncio.to_thread(self.replica.state)
        differing = differing_tasks(local, server)
        self.ctx.recorder.add(
            "replica_syncs", replica=self.name, op_id=op_id, time=time.time(),
            repository=self.repository, cursor=cursor, matches_server=differing == 0,
            differing_tasks=differing,
            started=started if started is not None else time.time(), pending=pending)
        return differing == 0


__all__ = ["CLI_DEADLINE_S", "CliActor", "CliReplicaFile", "WATCH_GRACE_S"]
