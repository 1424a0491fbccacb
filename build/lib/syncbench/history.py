"""History: every operation of a run as an invocation and exactly one completion (Jepsen-style).

A completion is `ok` (it happened, the response was seen), `fail` (it certainly did not
happen) or `info` (unknown: a timeout, a reset mid-response, a cut-off retry). Checks treat
`info` honestly: such a write may have been applied once or not at all.

    history = History()
    async with history.record("c1", "create", task_id="t1", content="k1") as op:
        task = await client.create_task("repo", "k1", task_id="t1")
        op.ok(task_id=task.id, version=task.version)

`record` marks `ok` when the block finishes (if the block did not complete the op itself),
and for an exception asks a classifier whether the operation certainly did not apply
(`fail`) or might have (`info`). Pass `history.observe_attempt` as the tasksync client's
`observer` to have each operation's retry attempts counted and used by that classifier.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pandas as pd

from syncbench.history_frame import (
    load_operations,
    operations_from_another_clock,
    operations_from_frame,
    operations_to_frame,
    optional_float,
    optional_int,
    optional_text,
    save_operations,
)
from tasksync.client.attempts import Attempt
from tasksync.client.errors import RetriesExhausted, TaskSyncError

Completion = Literal["ok", "fail", "info"]
Classifier = Callable[[BaseException], Literal["fail", "info"]]

OK: Completion = "ok"
FAIL: Completion = "fail"
INFO: Completion = "info"
PENDING = "pending"  # invoked, not completed (yet); checks treat it like info

# Attempt.outcome values (tasksync.client.attempts) of attempts that certainly applied nothing.
_NOTHING_SENT_OUTCOMES = frozenset({"CircuitOpenError", "ConnectError", "ConnectTimeout"})

# The errors `record` reports in the history and then swallows: an operation meeting them is
# the very thing a history records. Anything else (a bug in the workload) is re-raised.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    TaskSyncError,
    httpx.HTTPError,
    OSError,
    TimeoutError,
)

COLUMNS: tuple[str, ...] = (
    "op_id", "client", "operation", "args", "invoke_time", "invoke_monotonic", "complete_time",
    "complete_monotonic", "latency_s", "outcome", "attempts", "error", "task_id", "version", "seq",
)


def attempt_applied_nothing(outcome: str) -> bool:
    """Whether an attempt that ended with this Attempt.outcome certainly changed nothing.

    True for a client breaker refusal, a connection never opened, any 4xx reply (the server
    rejects before writing) and 503 (circuit open or storage failed: nothing written).
    """
    if outcome in _NOTHING_SENT_OUTCOMES:
        return True
    if outcome.isdigit():
        status = int(outcome)
        return 400 <= status < 500 or status == 503
    return False


def classify_error(exc: BaseException) -> Literal["fail", "info"]:
    """`fail` when the exception proves the operation did not apply, else `info`.

    An exception with a boolean attribute `definitely_not_applied` decides itself: every
    tasksync error does (a connection never opened, the client breaker, a 4xx, a 503
    circuit_open / storage_unavailable, a RetriesExhausted after a single attempt as its last
    error, a replica sync only when nothing of it can have applied; see tasksync.errors).
    For other exceptions: a refused or never-opened connection (ConnectionRefusedError,
    httpx.ConnectError/ConnectTimeout) is `fail`; everything else (timeouts, resets) `info`.
    `record` refines a RetriesExhausted after several attempts with the attempts it observed.
    """
    verdict = getattr(exc, "definitely_not_applied", None)
    if isinstance(verdict, bool):
        return FAIL if verdict else INFO
    if isinstance(exc, ConnectionRefusedError | httpx.ConnectError | httpx.ConnectTimeout):
        return FAIL
    return INFO


@dataclass(slots=True)
class Operation:
    """One recorded operation: its invocation and (once completed) its completion.

    Times: `*_time` are wall clock (time.time(), to align with server logs), `*_monotonic`
    are time.monotonic() (for durations). `outcome` is "pending" until completed.
    """

    op_id: int
    client: str
    operation: str
    args: dict[str, Any]
    invoke_time: float
    invoke_monotonic: float
    complete_time: float | None = None
    complete_monotonic: float | None = None
    outcome: str = PENDING
    attempts: int | None = None
    error: str = ""
    task_id: str | None = None
    version: int | None = None
    seq: int | None = None
    attempt_outcomes: list[str] | None = field(default=None, repr=False)

    @property
    def latency_s(self) -> float | None:
        """Seconds from invocation to completion (monotonic clock), None while pending."""
        if self.complete_monotonic is None:
            return None
        return self.complete_monotonic - self.invoke_monotonic

    @property
    def completed(self) -> bool:
        return self.outcome != PENDING

    def to_dict(self) -> dict[str, Any]:
        """The operation as plain JSON-able data (what counterexamples carry)."""
        return {
            "op_id": self.op_id,
            "client": self.client,
            "operation": self.operation,
            "args": dict(self.args),
            "invoke_time": self.invoke_time,
            "invoke_monotonic": self.invoke_monotonic,
            "complete_time": self.complete_time,
            "complete_monotonic": self.complete_monotonic,
            "latency_s": self.latency_s,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "error": self.error,
            "task_id": self.task_id,
            "version": self.version,
            "seq": self.seq,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Operation:
        """The operation `to_dict` (or a saved row) describes; `latency_s` is recomputed."""
        args = data.get("args") or {}
        if isinstance(args, str):
            args = json.loads(args) if args else {}
        return cls(
            op_id=int(data["op_id"]),
            client=str(data["client"]),
            operation=str(data["operation"]),
            args=dict(args),
            invoke_time=float(data["invoke_time"]),
            invoke_monotonic=float(data["invoke_monotonic"]),
            complete_time=optional_float(data.get("complete_time")),
            complete_monotonic=optional_float(data.get("complete_monotonic")),
            outcome=str(data.get("outcome") or PENDING),
            attempts=optional_int(data.get("attempts")),
            error=optional_text(data.get("error")) or "",
            task_id=optional_text(data.get("task_id")),
            version=optional_int(data.get("version")),
            seq=optional_int(data.get("seq")),
        )


class OpHandle:
    """The caller's grip on one invoked operation: complete it exactly once."""

    __slots__ = ("_history", "op")

    def __init__(self, history: History, op: Operation) -> None:
        self._history = history
        self.op = op

    @property
    def op_id(self) -> int:
        return self.op.op_id

    @property
    def outcome(self) -> str:
        return self.op.outcome

    @property
    def completed(self) -> bool:
        return self.op.outcome != PENDING

    def ok(self, *, version: int | None = None, seq: int | None = None,
           task_id: str | None = None, attempts: int | None = None) -> Operation:
        """Complete as `ok`: it happened and this is what the response said."""
        return self._history._complete(
            self.op, OK, "", version=version, seq=seq, task_id=task_id, attempts=attempts
        )

    def fail(self, error: str | BaseException = "", *, attempts: int | None = None) -> Operation:
        """Complete as `fail`: the operation certainly did not happen."""
        return self._history._complete(self.op, FAIL, _describe(error), attempts=attempts)

    def info(self, error: str | BaseException = "", *, attempts: int | None = None) -> Operation:
        """Complete as `info`: unknown whether it happened (timeout, reset, ...)."""
        return self._history._complete(self.op, INFO, _describe(error), attempts=attempts)

    def note(self, *, version: int | None = None, seq: int | None = None,
             task_id: str | None = None) -> None:
        """Remember response values for the completion `record` will make on exit."""
        # Single attribute writes need no lock (the GIL makes each one atomic), and the
        # completion that reads them happens after the block, in the same task.
        _keep_response(self.op, version, seq, task_id)


class _Recording(OpHandle):
    """`History.record`: an async context manager that is itself the OpHandle (one object on
    every operation's path; `benchmarks.analysis` measures it against an empty one)."""

    __slots__ = ("_client", "_operation", "_args", "_token")

    def __init__(self, history: History, client: str, operation: str,
                 args: dict[str, Any]) -> None:
        self._history = history
        self._client = client
        self._operation = operation
        self._args = args

    async def __aenter__(self) -> OpHandle:
        self.op = op = self._history._invoke(self._client, self._operation, self._args)
        self._token = _current_op.set(op)
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        _current_op.reset(self._token)
        op = self.op
        history = self._history
        if exc is None:
            if op.outcome == PENDING:
                history._complete_ok(op)
            return False
        if isinstance(exc, asyncio.CancelledError):
            if op.outcome == PENDING:
                self.info("cancelled")
            return False
        expected = isinstance(exc, history.expected_errors)
        if op.outcome != PENDING:
            return expected
        if expected:
            history._complete_from_error(op, exc)
            return True
        self.info(exc)
        return False


_wall = time.time
_monotonic = time.monotonic

_current_op: contextvars.ContextVar[Operation | None] = contextvars.ContextVar(
    "syncbench_current_op", default=None
)


class History:
    """An append-only record of operations, safe for many asyncio tasks (and threads).

    `classify` decides fail vs info for exceptions inside `record` (default
    `classify_error`); `expected_errors` are recorded and swallowed there, others re-raised.
    """

    def __init__(
        self,
        *,
        classify: Classifier = classify_error,
        expected_errors: tuple[type[BaseException], ...] = EXPECTED_ERRORS,
        operations: Iterable[Operation] = (),
    ) -> None:
        self.classify = classify
        self.expected_errors = expected_errors
        self._lock = threading.Lock()
        self._ops: list[Operation] = list(operations)
        # by_id's index, brought up to date when it is read (recording adds nothing to it)
        self._index: dict[int, Operation] = {}
        self._indexed = 0
        self._next_id = max((op.op_id for op in self._ops), default=0) + 1

    # -- recording -------------------------------------------------------------------------

    def invoke(self, client: str, operation: str, **args: Any) -> OpHandle:
        """Record an invocation now; complete it through the returned handle."""
        return OpHandle(self, self._invoke(client, operation, args))

    def _invoke(self, client: str, operation: str, args: dict[str, Any]) -> Operation:
        with self._lock:
            op_id = self._next_id
            self._next_id = op_id + 1
            op = Operation(op_id, client, operation, args, _wall(), _monotonic())
            self._ops.append(op)
        return op

    def record(self, client: str, operation: str, **args: Any) -> _Recording:
        """Invoke an operation around an `async with` block; complete it from how it ends.

        Normal exit: `ok` (with values given to `op.note`), unless the block completed the
        op itself. An expected error (`expected_errors`): `fail` or `info` per `classify`,
        then swallowed. Cancellation: `info`, re-raised. Any other exception: `info`,
        re-raised (it is a bug in the workload, not an outcome).
        """
        return _Recording(self, client, operation, args)

    def observe_attempt(self, attempt: Attempt) -> None:
        """A tasksync client observer: counts the attempts of the operation being recorded.

        Works for calls made inside `record` in the same asyncio task (the operation is
        found through a context variable); attempts outside any `record` are ignored.
        """
        op = _current_op.get()
        if op is None:
            return
        with self._lock:
            if op.attempt_outcomes is None:
                op.attempt_outcomes = []
            op.attempt_outcomes.append(attempt.outcome)

    def complete_pending(self, error: str = "never completed") -> int:
        """Mark every still-pending operation `info` (end of run); returns how many."""
        pending = [op for op in self.operations if not op.completed]
        for op in pending:
            self._complete(op, INFO, error)
        return len(pending)

    def _complete_from_error(self, op: Operation, exc: BaseException) -> None:
        verdict = self.classify(exc)
        outcomes = list(op.attempt_outcomes or ())
        if (
            verdict == INFO
            and isinstance(exc, RetriesExhausted)
            and len(outcomes) == exc.attempts
            and all(attempt_applied_nothing(o) for o in outcomes)
        ):
            # Every attempt of this call was seen and none of them can have applied.
            verdict = FAIL
        attempts = exc.attempts if isinstance(exc, RetriesExhausted) else None
        self._complete(op, verdict, _describe(exc), attempts=attempts)

    def _complete_ok(self, op: Operation) -> None:
        """`_complete(op, OK, "")` for the exit of a `record` block: the hot path, inlined."""
        wall, mono = _wall(), _monotonic()
        with self._lock:
            if op.outcome != PENDING:
                raise RuntimeError(_completed_twice(op))
            op.complete_time = wall
            op.complete_monotonic = mono
            op.outcome = OK
            if op.attempt_outcomes:
                op.attempts = len(op.attempt_outcomes)
            if op.task_id is None:
                task_id = op.args.get("task_id")
                if isinstance(task_id, str):
                    op.task_id = task_id

    def _complete(self, op: Operation, outcome: Completion, error: str, *,
                  version: int | None = None, seq: int | None = None,
                  task_id: str | None = None, attempts: int | None = None) -> Operation:
        wall, mono = _wall(), _monotonic()
        with self._lock:
            if op.outcome != PENDING:
                raise RuntimeError(_completed_twice(op))
            op.complete_time, op.complete_monotonic = wall, mono
            op.outcome = outcome
            op.error = error
            _keep_response(op, version, seq, task_id)
            if attempts is None and op.attempt_outcomes:
                attempts = len(op.attempt_outcomes)
            if attempts is not None:
                op.attempts = attempts
            if op.task_id is None and isinstance(op.args.get("task_id"), str):
                op.task_id = op.args["task_id"]
        return op

    def merge(self, recorded: Iterable[dict[str, Any]], *, offset_s: float = 0.0,
              **args: Any) -> list[Operation]:
        """Operations another process recorded (`Operation.to_dict` rows, its History's):
        taken in under new ids, their wall times moved onto this process's clock (`offset_s`:
        how far its clock is ahead, syncbench.distributed.clock_offset), their monotonic
        times onto ours with each latency kept, `args` added to each (where it ran). The
        history is then in invocation order again; ordering checks rest on the server's
        seq, never on these moved times. Returns the operations taken in."""
        merged = operations_from_another_clock(recorded, offset_s, _wall(), _monotonic(),
                                               args)
        with self._lock:
            for op in merged:
                op.op_id = self._next_id
                self._next_id += 1
            self._ops = sorted([*self._ops, *merged], key=lambda op: op.invoke_monotonic)
            self._index, self._indexed = {}, 0  # by_id indexes the reordered list afresh
        return merged

    # -- reading ---------------------------------------------------------------------------

    @property
    def operations(self) -> list[Operation]:
        """A snapshot of the operations, in invocation order."""
        with self._lock:
            return list(self._ops)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def __len__(self) -> int:
        with self._lock:
            return len(self._ops)

    def by_id(self, op_id: int) -> Operation:
        """The operation with this id (a dict look-up); KeyError when there is none."""
        op = self._index.get(op_id)
        if op is None:
            with self._lock:
                for op in self._ops[self._indexed:]:
                    self._index[op.op_id] = op
                self._indexed = len(self._ops)
            op = self._index[op_id]
        return op

    def to_frame(self) -> pd.DataFrame:
        """One row per operation: COLUMNS, one `arg_<name>` column per argument name, then
        `time` (invocation, UTC datetime) and `latency_ms`."""
        return operations_to_frame(self.operations, COLUMNS)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> History:
        """The history a `to_frame` (or a loaded CSV) describes."""
        return cls(operations=operations_from_frame(frame))

    # -- saving ----------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the history as CSV (`.csv`) or JSON lines (anything else); returns the path."""
        return save_operations(self.operations, Path(path), COLUMNS)

    @classmethod
    def load(cls, path: str | Path) -> History:
        """The history `save` wrote to `path` (CSV or JSON lines, by suffix)."""
        return cls(operations=load_operations(Path(path)))


def operations_of(history: History | pd.DataFrame | Iterable[Operation], *,
                  only: Collection[str] | None = None,
                  outcome: str | None = None) -> list[Operation]:
    """The operations of a History, a `to_frame` DataFrame, or an iterable of Operations;
    with `only`, just those whose `operation` is in it, with `outcome` just those completed
    so (a frame is filtered before its Operations are rebuilt, so a check that reads the
    acknowledged creates rebuilds only those)."""
    if isinstance(history, pd.DataFrame):
        return operations_from_frame(history, only=only, outcome=outcome)
    ops = history.operations if isinstance(history, History) else list(history)
    if only is None and outcome is None:
        return ops
    return [op for op in ops if (only is None or op.operation in only)
            and (outcome is None or op.outcome == outcome)]


def _completed_twice(op: Operation) -> str:
    return (f"operation {op.op_id} ({op.operation} by {op.client}) was already completed as "
            f"{op.outcome}; an invocation has exactly one completion")


def _keep_response(op: Operation, version: int | None, seq: int | None,
                   task_id: str | None) -> None:
    """Set what a response said on `op`; None leaves a value as it was."""
    if version is not None:
        op.version = version
    if seq is not None:
        op.seq = seq
    if task_id is not None:
        op.task_id = task_id


def _describe(error: str | BaseException) -> str:
    if isinstance(error, BaseException):
        text = str(error)
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    return error
