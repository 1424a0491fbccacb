"""The clients' work: a seeded plan per client, and the coroutines that play it.

    plan_requests   each client's creates and updates, the same for the same seed
    Recorder        the History plus one row per HTTP attempt, tied to its operation
    client_loop     a client plays its plan until the run's end
    large_create    the bulk client writes one large task once a fault window is on
    probe           unretried reads showing how the server answers (attempts only)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncbench.history import History, OpHandle
from syncbench.nemesis import Fault, Nemesis
from tasksync.client import Attempt, HTTPClient
from tasksync.client.errors import TaskSyncError

REPOSITORY = "resilience"
RATE_REPOSITORY = "resilience-rate"
KEY_SEPARATOR = "|"  # a large task's content is "<key>|xxxx...": the key names the create
STATUSES = ("pending", "in_progress", "completed")
PRIORITIES = ("low", "medium", "high")

_current_op: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "resilience_op", default=None)


@dataclass(frozen=True)
class PlannedRequest:
    """One step of a client's workload: create a new task, or update one it created."""

    kind: str  # "create" | "update"
    key: str  # create: the logical key (the task's content); update: ""
    target: int  # update: index among this client's acknowledged creates (modulo their count)
    status: str
    priority: str
    pause: float  # seconds to think before the next step


def plan_requests(seed: int, client: str, count: int, *, update_share: float = 0.3,
                  think_seconds: float = 0.05) -> list[PlannedRequest]:
    """The first `count` steps of `client`'s workload, the same for the same seed and client."""
    rng = random.Random(f"{seed}:{client}")
    steps: list[PlannedRequest] = []
    creates = 0
    for _ in range(count):
        update = creates > 0 and rng.random() < update_share
        key = "" if update else f"{client}-{creates + 1}"
        creates += 0 if update else 1
        steps.append(PlannedRequest(
            kind="update" if update else "create", key=key, target=rng.randrange(1 << 30),
            status=rng.choice(STATUSES), priority=rng.choice(PRIORITIES),
            pause=rng.uniform(0.5, 1.5) * think_seconds))
    return steps


def task_key(task: Mapping[str, Any]) -> str | None:
    """The logical key of a stored task: its content up to the large-task padding."""
    content = task.get("content")
    return None if content is None else str(content).split(KEY_SEPARATOR, 1)[0]


class Recorder:
    """The History plus one row per HTTP attempt, each tied to the operation it served."""

    def __init__(self, history: History | None = None) -> None:
        self.history = history or History()
        self.attempts: list[dict[str, Any]] = []

    def observe(self, attempt: Attempt) -> None:
        """The tasksync clients' observer."""
        self.history.observe_attempt(attempt)
        row = {name: getattr(attempt, name) for name in Attempt.__dataclass_fields__}
        row["op_id"] = _current_op.get()
        self.attempts.append(row)

    def record(self, client: str, operation: str, **args: Any) -> _OpScope:
        """`history.record(...)` that also marks the operation for `observe`."""
        return _OpScope(self.history, client, operation, args)


class _OpScope:
    def __init__(self, history: History, client: str, operation: str, args: dict[str, Any]):
        self._inner = history.record(client, operation, **args)
        self._token: contextvars.Token[int | None] | None = None

    async def __aenter__(self) -> OpHandle:
        handle = await self._inner.__aenter__()
        self._token = _current_op.set(handle.op_id)
        return handle

    async def __aexit__(self, *exc_info: Any) -> bool:
        if self._token is not None:
            _current_op.reset(self._token)
        return await self._inner.__aexit__(*exc_info)


async def client_loop(client: HTTPClient, recorder: Recorder, steps: Sequence[PlannedRequest],
                      repository: str, stop_at: float) -> None:
    """Play `steps` until the loop clock reaches `stop_at` (or the steps run out)."""
    loop = asyncio.get_running_loop()
    created: list[str] = []
    for step in steps:
        if loop.time() >= stop_at:
            return
        if step.kind == "update" and created:
            task_id = created[step.target % len(created)]
            async with recorder.record(client.client_id, "update", task_id=task_id,
                                       status=step.status, priority=step.priority) as op:
                task = await client.update_task(task_id, status=step.status,
                                                priority=step.priority)
                op.ok(task_id=task.id, version=task.version)
        else:
            async with recorder.record(client.client_id, "create", key=step.key,
                                       content=step.key) as op:
                task = await client.create_task(repository, step.key, status=step.status,
                                                priority=step.priority)
                op.ok(task_id=task.id, version=task.version)
                created.append(task.id)
        await asyncio.sleep(step.pause)


async def large_create(client: HTTPClient, recorder: Recorder, key: str, size: int,
                       nemesis: Nemesis, window: Fault, *, wait_on: float = 2.0) -> None:
    """One large create, sent as soon as `window` is on (waiting at most `wait_on` seconds
    after its planned start for the nemesis to have put it on)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, nemesis.origin + window.at - loop.time()))
    for _ in range(math.ceil(wait_on / 0.01)):  # the nemesis puts it on in a thread
        if any(active.plan == window for active in nemesis.active):
            break
        await asyncio.sleep(0.01)
    content = key + KEY_SEPARATOR + "x" * size
    async with recorder.record(client.client_id, "create", key=key, size=size) as op:
        task = await client.create_task(REPOSITORY, content)
        op.ok(task_id=task.id, version=task.version)


async def probe(client: HTTPClient, start_at: float, stop_at: float, pause: float) -> None:
    """One unretried read every `pause` seconds from `start_at` to `stop_at` (loop time):
    attempts only, no workload operations; they show how the server answers."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start_at - loop.time()))
    for _ in range(math.ceil((stop_at - start_at) / pause) + 1):
        if loop.time() >= stop_at:
            return
        with contextlib.suppress(TaskSyncError):
            await client.list_tasks(REPOSITORY, limit=1)
        await asyncio.sleep(pause)


async def greedy_creates(client: HTTPClient, recorder: Recorder, count: int) -> None:
    """`count` creates back to back, each retried as the policy says (429s included)."""
    for number in range(1, count + 1):
        key = f"greedy-{number}"
        async with recorder.record(client.client_id, "create", key=key, content=key) as op:
            task = await client.create_task(RATE_REPOSITORY, key)
            op.ok(task_id=task.id, version=task.version)


__all__ = ["KEY_SEPARATOR", "RATE_REPOSITORY", "REPOSITORY", "PlannedRequest", "Recorder",
           "client_loop", "greedy_creates", "large_create", "plan_requests", "probe",
           "task_key"]
