"""An HTTP client of a generated run: the task routes and batch sync, through tasksync.client.

It knows what a real client knows: the tasks it created, read, listed or pulled (by id, with
the newest version and fields it saw), the ids the server gave its creates, the newest seq
it saw per repository, and what it sent at each step (to retry a write with its key).
Names in the schedule (`task_of`, `pick`, `seen`, `last`, ...) are resolved against that.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from syncbench.checks import content_key
from syncbench.explore.context import RunContext, position
from syncbench.explore.gates import GATE_PROBES, send_probe
from syncbench.history import OpHandle
from tasksync.clock import now_rfc3339
from tasksync.models import SyncItem, SyncTaskFields, Task, task_fields

# sends a write: (the op's handle, its observation rows, the op played: the write or a retry)
Send = Callable[[OpHandle, list[dict[str, Any]], dict[str, Any]], Awaitable[None]]


def padded(content: str, size: int | None) -> str:
    """`content` made exactly `size` characters long (when a size is asked for)."""
    if not size:
        return content
    return (content + " " + "x" * size)[:size]


@dataclass
class _Sent:
    """A write as sent at a step, to send again on a retry."""

    operation: str
    args: dict[str, Any]
    send: Send


class HttpActor:
    """HTTP client `name` of the run (X-Client-ID `name`), on its own proxy group."""

    def __init__(self, ctx: RunContext, name: str) -> None:
        self.ctx = ctx
        self.name = name
        group = ctx.group_of(name)
        self.http = ctx.stack.http_client(group, client_id=name, **ctx.client_options())
        self.batch = ctx.stack.batch_client(group, client_id=name, **ctx.client_options())
        self.seen: dict[str, Task] = {}           # task id -> newest state seen
        self.order: list[str] = []                # task ids in first-seen order (for pick)
        self.created: dict[int, str] = {}         # create step -> the id the server gave
        self.last_seq: dict[str, int] = {}        # repository -> newest seq seen
        self.sent: dict[int, _Sent] = {}          # step -> the write sent there
        self.items: dict[tuple[str, str], SyncItem] = {}  # (repository, change id) -> item
        self.raw: httpx.AsyncClient | None = None  # for gate probes, made on first use

    async def run(self, op: dict[str, Any]) -> None:
        """Play one op of the schedule."""
        await getattr(self, f"_{op['op']}")(op)

    # -- knowledge ------------------------------------------------------------------------

    def _learn(self, task: Task) -> None:
        known = self.seen.get(task.id)
        if known is None:
            self.order.append(task.id)
        if known is None or task.version >= known.version:
            self.seen[task.id] = task

    def _observe(self, handle: OpHandle, op: dict[str, Any] | None, operation: str, task: Task,
                 *, write: bool, repository: str | None, requested: str | None,
                 seq: int | None = None, source: str = "task") -> dict[str, Any]:
        self._learn(task)
        return self.ctx.observe(handle, self.name, op, operation, task, write=write,
                                repository=repository, requested=requested, seq=seq,
                                source=source)

    def _resolve(self, target: dict[str, Any], *, repository: str | None = None
                 ) -> tuple[str, str | None] | None:
        """(task id, the repository this client believes it is in), or None when this
        client cannot name such a task (a create that never succeeded, nothing seen)."""
        believed = target.get("repository") or repository
        if "task_id" in target:
            task_id = str(target["task_id"])
        elif "task_of" in target:
            found = self.created.get(int(target["task_of"]))
            if found is None:
                return None
            task_id = found
        else:
            candidates = [task_id for task_id in self.order
                          if believed is None or self.seen[task_id].repository == believed]
            if not candidates:
                return None
            task_id = candidates[min(len(candidates) - 1,
                                     int(float(target.get("pick", 0.0)) * len(candidates)))]
        known = self.seen.get(task_id)
        # the single-task routes name no repository: the request's is where this client
        # last saw the task (else where it meant it to be)
        return task_id, (known.repository if known else None) or believed

    def _version(self, word: str | int | None, task_id: str) -> int | None:
        """The If-Match / base version a word names: `seen` (newest this client saw, 1 when
        it saw none), `stale` (one before), or a number; None for no If-Match."""
        if word is None or isinstance(word, int):
            return word
        known = self.seen.get(task_id)
        seen = known.version if known else 1
        return seen if word == "seen" else max(0, seen - 1)

    def _content(self, op: dict[str, Any], task_id: str, fallback: str) -> str | None:
        """The content an edit sends: the task's key (as last seen; `fallback` when this
        client never saw its content) and the op's suffix, padded to `content_size`."""
        if "content_suffix" not in op and not op.get("content_size"):
            return None
        known = self.seen.get(task_id)
        key = content_key(known.content) if known and known.content else fallback
        return padded(f"{key} {op.get('content_suffix', '')}".rstrip(), op.get("content_size"))

    def _position(self, word: str | int, repository: str) -> int:
        return position(word, self.last_seq.get(repository, 0))

    def _saw_seq(self, repository: str, seq: int) -> None:
        self.last_seq[repository] = max(self.last_seq.get(repository, 0), seq)

    async def _unresolved(self, op: dict[str, Any], why: str) -> None:
        async with self.ctx.op(self.name, op, op["op"], unresolved=True) as (handle, _):
            handle.fail(f"not sent: {why}")

    # -- writes ---------------------------------------------------------------------------

    async def _write(self, op: dict[str, Any], operation: str, args: dict[str, Any],
                     send: Send) -> None:
        self.sent[op["step"]] = _Sent(operation, args, send)
        async with self.ctx.op(self.name, op, operation, **args) as (handle, rows):
            await send(handle, rows, op)

    async def _create(self, op: dict[str, Any]) -> None:
        repository, task_id = op["repository"], op.get("task_id")
        content = padded(op["content"], op.get("content_size"))
        created_at = op["step"]  # a retry of this create names the same step
        args = {"repository": repository, "task_id": task_id, "content_key": content_key(content),
                "idempotency_key": op.get("key"), "content_size": len(content)}

        async def send(handle: OpHandle, rows: list[dict[str, Any]], at: dict[str, Any]
                       ) -> None:
            task = await self.http.create_task(repository, content, id=task_id,
                                               status=op["status"], priority=op["priority"],
                                               idempotency_key=op.get("key"))
            self.created.setdefault(created_at, task.id)
            rows.append(self._observe(handle, at, handle.op.operation, task, write=True,
                                      repository=repository, requested=task_id))
            handle.note(task_id=task.id, version=task.version)

        await self._write(op, "create", args, send)

    async def _update(self, op: dict[str, Any]) -> None:
        resolved = self._resolve(op["target"])
        if resolved is None:
            return await self._unresolved(op, f"no task to name for {op['target']}")
        task_id, repository = resolved
        if_match = self._version(op.get("if_match"), task_id)
        content = self._content(op, task_id, f"{self.name}.{op['step']}")
        fields = {"content": content, "status": op.get("status"), "priority": op.get("priority")}
        args = {"repository": repository, "task_id": task_id, "if_match": if_match,
                "idempotency_key": op.get("key"),
                **{name: value for name, value in fields.items()
                   if value is not None and name != "content"},
                "content_key": content_key(content) if content else None}

        async def send(handle: OpHandle, rows: list[dict[str, Any]], at: dict[str, Any]
                       ) -> None:
            task = await self.http.update_task(task_id, **fields, if_match=if_match,
                                               idempotency_key=op.get("key"))
            # PATCH /tasks/{id} names no repository: nothing to hold the reply's against
            rows.append(self._observe(handle, at, handle.op.operation, task, write=True,
                                      repository=None, requested=task_id))
            handle.note(task_id=task.id, version=task.version)

        await self._write(op, "update", args, send)

    async def _delete(self, op: dict[str, Any]) -> None:
        resolved = self._resolve(op["target"])
        if resolved is None:
            return await self._unresolved(op, f"no task to name for {op['target']}")
        task_id, repository = resolved
        if_match = self._version(op.get("if_match"), task_id)
        args = {"repository": repository, "task_id": task_id, "if_match": if_match,
                "idempotency_key": op.get("key")}

        async def send(handle: OpHandle, rows: list[dict[str, Any]], at: dict[str, Any]
                       ) -> None:
            task = await self.http.delete_task(task_id, if_match=if_match,
                                               idempotency_key=op.get("key"))
            rows.append(self._observe(handle, at, handle.op.operation, task, write=True,
                                      repository=None, requested=task_id))
            handle.note(task_id=task.id, version=task.version)

        await self._write(op, "delete", args, send)

    async def _retry(self, op: dict[str, Any]) -> None:
        """The write of step `of` sent again as it was, with its Idempotency-Key."""
        sent = self.sent.get(int(op["of"]))
        if sent is None:
            return await self._unresolved(op, f"step {op['of']} sent nothing to retry")
        async with self.ctx.op(self.name, op, f"retry_{sent.operation}", of=op["of"],
                               **sent.args) as (handle, rows):
            await sent.send(handle, rows, op)

    # -- reads ----------------------------------------------------------------------------

    async def _gate(self, op: dict[str, Any]) -> None:
        """A request PROTOCOL.md refuses (or a read outside the API): its answer recorded
        against the documented one (explore/gates.py)."""
        probe = GATE_PROBES[op["probe"]]
        key = f"{self.name}.{op['step']}"
        async with self.ctx.op(self.name, op, "gate", probe=op["probe"],
                               repository=op["repository"], content_key=key,
                               writes=probe.writes, documented_status=probe.status
                               ) as (handle, _):
            if self.raw is None:
                self.raw = self.ctx.stack.raw_http(self.ctx.group_of(self.name),
                                                   timeout=self.ctx.config.request_timeout_s)
            try:
                answer = await send_probe(self.raw, op["probe"], client=self.name,
                                          repository=op["repository"], key=key,
                                          max_body_bytes=self.ctx.config.max_body_bytes)
            except httpx.TransportError as exc:  # no answer (a fault): nothing to hold it to
                (handle.info if probe.writes else handle.fail)(exc)
                return
            handle.op.args.update(answer)

    async def _get(self, op: dict[str, Any]) -> None:
        resolved = self._resolve(op["target"])
        if resolved is None:
            return await self._unresolved(op, f"no task to name for {op['target']}")
        task_id, repository = resolved
        async with self.ctx.op(self.name, op, "get", repository=repository,
                               task_id=task_id) as (handle, rows):
            task = await self.http.get_task(task_id)
            rows.append(self._observe(handle, op, "get", task, write=False,
                                      repository=None, requested=task_id))
            handle.note(task_id=task.id, version=task.version)

    async def _list(self, op: dict[str, Any]) -> None:
        """Every page of a repository's listing, walked with a small page size."""
        repository = op["repository"]
        async with self.ctx.op(self.name, op, "list", repository=repository,
                               page_size=op["page_size"], include_deleted=op["include_deleted"],
                               walks_every_page=True) as (handle, rows):
            pages = 0
            async for page in self.http.iter_pages(repository, page_size=op["page_size"],
                                                   include_deleted=op["include_deleted"]):
                pages += 1
                for task in page.tasks:
                    rows.append(self._observe(handle, op, "list", task, write=False,
                                              repository=repository, requested=None,
                                              source="page"))
            handle.op.args["pages"] = pages

    async def _changes(self, op: dict[str, Any]) -> None:
        repository = op["repository"]
        after = self._position(op["at"], repository)
        async with self.ctx.op(self.name, op, "changes", repository=repository, at=op["at"],
                               after=after, limit=op["limit"]) as (handle, rows):
            page = await self.http.changes(repository, after=after, limit=op["limit"])
            for event in page.events:
                rows.append(self._observe(handle, op, "changes", event.task, write=False,
                                          repository=repository, requested=None,
                                          seq=event.seq, source="change"))
            self._saw_seq(repository, page.last_seq)
            handle.op.args.update(events=len(page.events), last_seq=page.last_seq,
                                  earliest_seq=page.earliest_seq)
            handle.note(seq=page.last_seq)

    # -- batch sync -------------------------------------------------------------------------

    def _item(self, repository: str, spec: dict[str, Any]) -> SyncItem | None:
        """The SyncItem a schedule item names; a resent item is the one sent first."""
        memo = (repository, str(spec["change_id"]))
        if spec.get("resend") and memo in self.items:
            return self.items[memo]
        base: SyncTaskFields | None = None
        if "task_id" in spec:
            task_id, content, base_version = str(spec["task_id"]), spec["content"], 0
        else:
            resolved = self._resolve(spec["target"], repository=repository)
            if resolved is None:
                return None
            task_id = resolved[0]
            content = self._content(spec, task_id, f"{self.name}.{repository}.{spec['change_id']}") or ""
            base_version = self._version(spec.get("base_version", "seen"), task_id) or 0
            known = self.seen.get(task_id)
            if known is not None and base_version == known.version:
                base = task_fields(known)
        updated_at = now_rfc3339() if spec.get("updated_at") == "clock" else spec["updated_at"]
        item = SyncItem(change_id=str(spec["change_id"]), task_id=task_id,
                        task=SyncTaskFields(content=content, status=spec["status"],
                                            priority=spec["priority"],
                                            deleted=bool(spec.get("deleted"))),
                        base_version=base_version, updated_at=updated_at, base=base)
        self.items.setdefault(memo, item)
        return item

    async def _batch(self, op: dict[str, Any]) -> None:
        repository = op["repository"]
        items = [item for spec in op["items"] if (item := self._item(repository, spec))]
        cursor = self._position(op["cursor"], repository)
        args = {"repository": repository, "items": len(items),
                "unresolved_items": len(op["items"]) - len(items), "cursor": cursor,
                "strategy": op["strategy"], "pull_limit": op["pull_limit"],
                "change_ids": [item.change_id for item in items],
                "task_ids": [item.task_id for item in items],
                "idempotency_key": op.get("key")}

        async def send(handle: OpHandle, rows: list[dict[str, Any]], at: dict[str, Any]
                       ) -> None:
            reply = await self.batch.batch_sync(
                repository, items, cursor=cursor, strategy=op["strategy"],
                pull_limit=op["pull_limit"], idempotency_key=op.get("key"))
            # results answer the items in order: the item's task id is what was requested
            for item, result in zip(items, reply.results, strict=False):
                if result.task is not None:
                    rows.append(self._observe(handle, at, handle.op.operation, result.task, write=True,
                                              repository=repository, requested=item.task_id,
                                              source="stored_item" if result.replayed else "item"))
            for event in reply.changes:
                rows.append(self._observe(handle, at, handle.op.operation, event.task, write=False,
                                          repository=repository, requested=None,
                                          seq=event.seq, source="change"))
            self._saw_seq(repository, reply.cursor)
            outcomes: dict[str, int] = {}
            for result in reply.results:
                name = result.outcome + (" replayed" if result.replayed else "")
                outcomes[name] = outcomes.get(name, 0) + 1
            handle.op.args.update(outcomes=outcomes, results=len(reply.results),
                                  conflicts=len(reply.conflicts))
            handle.note(seq=reply.cursor)

        await self._write(op, "batch", args, send)


__all__ = ["HttpActor", "padded"]
