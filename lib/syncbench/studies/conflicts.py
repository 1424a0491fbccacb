"""The conflicts study: every conflict scenario against every resolution strategy.

Each (scenario, strategy) cell runs in its own repository, with two real Replicas ("A" and
"B", each through its own Toxiproxy group) and, for the original plan's case, a third
BatchClient ("C"). Side A's change reaches the server first; side B's change is the
contested push. What the server should do with that push is computed independently by a
small reference model of PROTOCOL.md's batch rules (`expected_batch`) from what B actually
sent, so every cell has an expected winner and final value to hold the server to.

A second part sweeps client clock skew under last_write_wins: an "honest" replica and a
skewed one edit the same task a random real-time gap apart, and the sweep records whether
the write made later in real time survived.

    result = await run(ConflictParams(seed=1))
    result.outcomes            # scenario, strategy, conflicts, winner, final, expected, lost
    report = result.report(output_dir)

Checks: conflicts_reported_once (syncbench.checks), expected_conflicts_reported,
winner_matches_strategy, no_silently_lost_changes (this module), convergence.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pandas as pd

from syncbench.checks import conflicts_reported_once, convergence
from syncbench.history import EXPECTED_ERRORS, History, OpHandle
from syncbench.report import Report
from syncbench.stack import Stack, StackConfig
from syncbench.verdict import CheckResult, StudyChecks
from tasksync.client import RetryPolicy
from tasksync.clock import format_rfc3339, parse_rfc3339
from tasksync.models import STRATEGIES, SyncItem, SyncTaskFields
from tasksync.replica import Replica, ReplicaError, SyncReport
from tasksync.server.config import SEEDED_BUGS

STUDY = "conflicts"

SCENARIOS: tuple[str, ...] = (
    "edit_edit_same_field",
    "edit_edit_different_fields",
    "edit_delete",
    "delete_delete",
    "concurrent_create_same_id",
    "long_offline_edit",
    "clock_skew_ahead",
    "clock_skew_behind",
    "plan_two_updates_then_batch",
)
MANUAL_KEEPS = ("local", "server")
SKEW_ORDERINGS = ("skewed_first", "skewed_last")
EDIT_FIELDS: tuple[str, ...] = ("content", "status", "priority", "deleted")

# Client groups: each side's traffic goes through its own Toxiproxy proxy, so side B alone
# can be taken offline.
GROUP_A, GROUP_B = "side-a", "side-b"
# Clean network: a sync that fails is a finding, so retry briefly and report it.
STUDY_RETRY = RetryPolicy(max_attempts=2, base_delay=0.05, max_delay=0.5, deadline=10.0)
CELL_TIMEOUT_S = 60.0
# B's edits while offline cycle through these statuses and priorities.
_OFFLINE_STATUSES = ("in_progress", "completed", "cancelled", "pending")
_OFFLINE_PRIORITIES = ("high", "low")


# -- parameters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConflictParams:
    """What one run of the study does; a bad value raises ValueError naming the parameter.

    scenarios x strategies is the matrix; `skew_minutes` is the clock offset of the
    clock_skew_* scenarios; `offline_edits` how many edits each side makes while B is
    offline (long_offline_edit); `manual_keep` which side a manual conflict is resolved to.
    The last_write_wins sweep runs `skew_trials` trials per skew value (seconds, in
    `skew_sweep_s`) and ordering, the two writes `min_gap_s`..`max_gap_s` apart in real time
    (drawn from the seed); `skew_trials=0` skips it.
    """

    seed: int = 1
    scenarios: tuple[str, ...] = SCENARIOS
    strategies: tuple[str, ...] = STRATEGIES
    skew_minutes: float = 5.0
    offline_edits: int = 3
    manual_keep: str = "local"
    skew_sweep_s: tuple[float, ...] = (-2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 2.0)
    skew_trials: int = 2
    min_gap_s: float = 0.05
    max_gap_s: float = 1.0
    concurrency: int = 6
    seeded_bug: str = ""

    def __post_init__(self) -> None:
        for name in ("scenarios", "strategies", "skew_sweep_s"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValueError(f"{name} must be a list, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        _require_known("scenarios", self.scenarios, SCENARIOS)
        _require_known("strategies", self.strategies, STRATEGIES)
        if not self.scenarios:
            raise ValueError("scenarios must name at least one scenario")
        if not self.strategies:
            raise ValueError("strategies must name at least one strategy")
        if not 0 < self.skew_minutes <= 24 * 60:
            raise ValueError(f"skew_minutes must be in (0, 1440], got {self.skew_minutes!r}")
        if not isinstance(self.offline_edits, int) or not 1 <= self.offline_edits <= 50:
            raise ValueError(f"offline_edits must be an int in 1..50, got {self.offline_edits!r}")
        if self.manual_keep not in MANUAL_KEEPS:
            raise ValueError(f"manual_keep must be one of {MANUAL_KEEPS}, got {self.manual_keep!r}")
        if any(abs(float(skew)) > 3600 for skew in self.skew_sweep_s):
            raise ValueError("skew_sweep_s values must lie within +-3600 seconds")
        object.__setattr__(self, "skew_sweep_s", tuple(float(s) for s in self.skew_sweep_s))
        if not isinstance(self.skew_trials, int) or not 0 <= self.skew_trials <= 20:
            raise ValueError(f"skew_trials must be an int in 0..20, got {self.skew_trials!r}")
        if not 0 <= self.min_gap_s <= self.max_gap_s <= 10:
            raise ValueError(
                f"min_gap_s and max_gap_s must satisfy 0 <= min_gap_s <= max_gap_s <= 10,"
                f" got {self.min_gap_s!r}, {self.max_gap_s!r}"
            )
        if not isinstance(self.concurrency, int) or not 1 <= self.concurrency <= 32:
            raise ValueError(f"concurrency must be an int in 1..32, got {self.concurrency!r}")
        if self.seeded_bug and self.seeded_bug not in SEEDED_BUGS:
            raise ValueError(
                f"seeded_bug must be empty or one of {sorted(SEEDED_BUGS)}, got {self.seeded_bug!r}"
            )


def _require_known(name: str, values: Sequence[str], known: Sequence[str]) -> None:
    unknown = [value for value in values if value not in known]
    if unknown:
        raise ValueError(f"{name}: unknown {unknown}; choose from {', '.join(known)}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} lists a value twice: {list(values)}")


# -- the seeded workload --------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One (scenario, strategy) run: its own repository, task id and contents."""

    scenario: str
    strategy: str
    repository: str
    task_id: str
    token: str  # makes this cell's contents unique ("A 3f9c0a", "B 3f9c0a", ...)


@dataclass(frozen=True)
class SkewTrial:
    """One last_write_wins trial of the clock-skew sweep."""

    trial: int
    skew_s: float
    ordering: str  # "skewed_first": the skewed client's write is the older one
    gap_s: float  # real time between the two writes
    repository: str
    task_id: str
    token: str


@dataclass(frozen=True)
class Workload:
    seed: int
    cells: tuple[Cell, ...]
    trials: tuple[SkewTrial, ...]


def plan_workload(params: ConflictParams) -> Workload:
    """The cells and sweep trials a run executes; every random choice comes from the seed."""
    rng = random.Random(params.seed)
    cells = []
    for scenario in params.scenarios:
        for strategy in params.strategies:
            repository = f"c-{scenario}-{strategy}"
            token = f"{rng.randrange(16**6):06x}"
            cells.append(Cell(scenario, strategy, repository, f"{repository}.t", token))
    trials = []
    for skew in params.skew_sweep_s:
        for ordering in SKEW_ORDERINGS:
            for _ in range(params.skew_trials):
                number = len(trials)
                repository = f"skew-{number}"
                trials.append(SkewTrial(
                    trial=number, skew_s=skew, ordering=ordering,
                    gap_s=round(rng.uniform(params.min_gap_s, params.max_gap_s), 3),
                    repository=repository, task_id=f"{repository}.t",
                    token=f"{rng.randrange(16**6):06x}",
                ))
    return Workload(params.seed, tuple(cells), tuple(trials))


# -- the reference model of a contested batch -----------------------------------------------


@dataclass(frozen=True)
class ModelItem:
    """One change of the contested push, as the model sees it."""

    fields: SyncTaskFields
    base: SyncTaskFields | None  # the base the server will merge against (None: none)
    client_time: datetime | None  # the item's updated_at (client clock)


@dataclass(frozen=True)
class BatchExpectation:
    """What the server should end with after the push, and the conflicts it should report."""

    final: SyncTaskFields | None
    winners: tuple[str, ...]  # one per expected conflict, in item order

    @property
    def conflicts(self) -> int:
        return len(self.winners)


def three_way_merge(
    base: SyncTaskFields, server: SyncTaskFields, client: SyncTaskFields
) -> SyncTaskFields:
    """Field by field: a side that changed a field alone takes it; both changed: the server's."""
    merged: dict[str, Any] = {}
    for name in EDIT_FIELDS:
        was, ours, theirs = getattr(base, name), getattr(server, name), getattr(client, name)
        merged[name] = theirs if ours == was and theirs != was else ours
    return SyncTaskFields(**merged)


def replay_edit(
    base: SyncTaskFields, server: SyncTaskFields, client: SyncTaskFields
) -> SyncTaskFields:
    """A later edit onto the client's own earlier write: what it changed from its base wins."""
    return SyncTaskFields(**{
        name: getattr(client, name) if getattr(client, name) != getattr(base, name)
        else getattr(server, name)
        for name in EDIT_FIELDS
    })


def expected_batch(
    strategy: str,
    server: SyncTaskFields | None,
    server_time: datetime | None,
    items: Sequence[ModelItem],
    push_time: datetime,
) -> BatchExpectation:
    """The outcome PROTOCOL.md's batch rules give when `items` meet a task other clients
    last wrote at `server_time` (every version after each item's base written by others).

    An item whose fields equal the server's is `unchanged`; any other item on an existing
    task is a conflict resolved by `strategy`, until the push itself writes the task: the
    client's later items then build on its own write (no conflict), each replayed onto it
    (fields the item changed from its base take the item's value, the rest stay).
    A write the push makes is stamped `push_time`.
    """
    winners: list[str] = []
    own_write = False
    for item in items:
        if server is None:
            server, server_time, own_write = item.fields, push_time, True
            continue
        if item.fields == server:
            continue
        if own_write:
            result = item.fields if item.base is None else replay_edit(item.base, server, item.fields)
            server, server_time = result, push_time
            continue
        if strategy == "client_wins":
            winner, result = "client", item.fields
        elif strategy == "last_write_wins":
            client_won = (
                item.client_time is not None and server_time is not None
                and item.client_time > server_time
            )
            winner, result = ("client", item.fields) if client_won else ("server", server)
        elif strategy == "merge":
            if item.base is None:
                winner, result = "server", server
            else:
                winner, result = "merged", three_way_merge(item.base, server, item.fields)
        elif strategy == "manual":
            winner, result = "none", server
        else:
            winner, result = "server", server
        winners.append(winner)
        if result != server:
            server, server_time, own_write = result, push_time, True
    return BatchExpectation(server, tuple(winners))


# -- what a run records ---------------------------------------------------------------------


@dataclass
class Side:
    """One side's net change to a contested task (its last intent against the shared base)."""

    scenario: str
    strategy: str
    repository: str
    task_id: str
    side: str  # "A", "B" or "C"
    client: str
    changed: dict[str, Any]
    op_ids: list[int]
    last_edit_time: float  # wall clock of the side's last local write

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "strategy": self.strategy,
            "repository": self.repository, "task_id": self.task_id, "side": self.side,
            "client": self.client, "changed": dict(self.changed), "op_ids": list(self.op_ids),
            "last_edit_time": self.last_edit_time,
        }


OUTCOME_COLUMNS: tuple[str, ...] = (
    "scenario", "strategy", "conflicts_reported", "expected_conflicts", "winner",
    "expected_winner", "final_value", "expected_value", "final_label", "silently_lost",
    "newer_side",
    "newer_kept", "outcome", "repository", "task_id", "push_op_id", "op_ids",
)
SKEW_COLUMNS: tuple[str, ...] = (
    "trial", "skew_s", "ordering", "gap_s", "measured_gap_s", "newer", "winner",
    "newer_write_lost", "final_value", "repository",
)


@dataclass
class ConflictStudyResult(StudyChecks):
    """Everything a run produced: raw frames, checks and headline metrics."""

    params: ConflictParams
    outcomes: pd.DataFrame
    sides: pd.DataFrame
    conflicts: pd.DataFrame
    skew_trials: pd.DataFrame
    skew_summary: pd.DataFrame
    operations: pd.DataFrame
    checks: list[CheckResult]
    metrics: dict[str, Any]
    toxiproxy_version: str = ""

    def report(self, output_dir: str = ".") -> Report:
        """A syncbench Report holding this run's checks, metrics and raw data (not saved)."""
        parameters = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in asdict(self.params).items()
        }
        report = Report(
            study=STUDY, output_dir=output_dir, parameters=parameters, seed=self.params.seed,
            environment={"toxiproxy_version": self.toxiproxy_version},
        )
        for check in self.checks:
            report.check(check)
        units = {"matrix_duration_s": "s", "sweep_duration_s": "s",
                 "lww_smallest_losing_skew_s": "s"}
        for name, value in self.metrics.items():
            report.metric(name, value, unit=units.get(name, ""))
        report.data("outcomes", self.outcomes)
        report.data("sides", self.sides)
        report.data("conflicts", self.conflicts)
        report.data("skew_trials", self.skew_trials)
        report.data("skew_summary", self.skew_summary)
        report.data("operations", self.operations)
        return report


# -- running --------------------------------------------------------------------------------


class _Recorder:
    """The run's shared state: the stack, the history, and what each cell collected."""

    def __init__(self, stack: Stack, params: ConflictParams) -> None:
        self.stack = stack
        self.params = params
        # Replica errors say themselves whether the sync applied nothing (classify_error).
        self.history = History(expected_errors=EXPECTED_ERRORS + (ReplicaError,))
        self.reported: list[dict[str, Any]] = []  # every conflict a sync response carried
        self.sides: list[Side] = []
        self.states: dict[str, dict[str, Any]] = {"server": {}, "A": {}, "B": {}}
        self.server_log: list[dict[str, Any]] = []
        self.outcomes: list[dict[str, Any]] = []
        self.trials: list[dict[str, Any]] = []

    def replica(self, name: str, group: str, repository: str, skew_s: float = 0.0) -> Replica:
        def clock() -> datetime:
            return datetime.now(UTC) + timedelta(seconds=skew_s)

        return self.stack.replica(
            name, group, repository, clock=clock,
            client_options={"retry": STUDY_RETRY, "observer": self.history.observe_attempt},
        )

    def local(self, client: str, operation: str, cell: Cell | SkewTrial, **args: Any) -> OpHandle:
        """Record a local (offline) replica operation, which completes at once."""
        return self.history.invoke(client, operation, repository=cell.repository,
                                   task_id=cell.task_id, **args)

    async def sync(self, replica: Replica, strategy: str, cell: Cell | SkewTrial,
                   label: str) -> tuple[SyncReport | None, int]:
        """Sync `replica`, recorded; the report (None when the sync failed) and the op id."""
        report: SyncReport | None = None
        async with self.history.record(label, "sync", repository=cell.repository,
                                       task_id=cell.task_id, strategy=strategy,
                                       pending=replica.pending_count()) as op:
            report = await replica.sync(strategy)
            op.note(seq=report.cursor)
            self.reported += [_conflict_dict(c) for c in report.conflicts]
        return report, op.op_id


async def run(params: ConflictParams | None = None) -> ConflictStudyResult:
    """Run the matrix and the clock-skew sweep on a fresh Stack; the result with its checks."""
    params = params or ConflictParams()
    workload = plan_workload(params)
    options = ("--seeded-bug", params.seeded_bug) if params.seeded_bug else ()
    print(f"conflicts: {len(workload.cells)} cells, {len(workload.trials)} skew trials,"
          f" seed {params.seed}" + (f", seeded bug {params.seeded_bug}" if params.seeded_bug else ""))
    async with Stack(StackConfig(groups=(GROUP_A, GROUP_B), server_options=options)) as stack:
        recorder = _Recorder(stack, params)
        started = time.monotonic()
        for scenario in params.scenarios:
            cells = [cell for cell in workload.cells if cell.scenario == scenario]
            for cell in cells:
                async with asyncio.timeout(CELL_TIMEOUT_S):
                    await _run_cell(recorder, cell)
            done = recorder.outcomes[-len(cells):]
            print(f"  {scenario}: " + ", ".join(f"{row['strategy']}={row['outcome']}" for row in done))
        matrix_s = time.monotonic() - started
        started = time.monotonic()
        if workload.trials:
            print(f"  clock-skew sweep: {len(workload.trials)} last_write_wins trials")
            limit = asyncio.Semaphore(params.concurrency)

            async def bounded(trial: SkewTrial) -> None:
                async with limit, asyncio.timeout(CELL_TIMEOUT_S):
                    await _run_skew_trial(recorder, trial)

            await asyncio.gather(*(bounded(trial) for trial in workload.trials))
        sweep_s = time.monotonic() - started
        toxiproxy_version = stack.toxiproxy_info.version if stack.toxiproxy_info else ""
    recorder.history.complete_pending()
    return _result(recorder, params, matrix_s, sweep_s, toxiproxy_version)


async def _run_cell(rec: _Recorder, cell: Cell) -> None:
    """Play `cell`'s scenario, resolve, settle, and record its outcome row."""
    a = rec.replica(f"{cell.repository}.A", GROUP_A, cell.repository)
    skew = {"clock_skew_ahead": 60.0, "clock_skew_behind": -60.0}.get(cell.scenario, 0.0)
    b = rec.replica(f"{cell.repository}.B", GROUP_B, cell.repository,
                    skew_s=skew * rec.params.skew_minutes)
    contest = await _SCENARIO_RUNNERS[cell.scenario](rec, cell, a, b)
    keep = rec.params.manual_keep
    expectation = contest.expectation
    expected_final = expectation.final
    reported = contest.reported
    if cell.strategy == "manual" and expectation.conflicts and keep == "local":
        expected_final = contest.items[-1].fields
    if cell.strategy == "manual" and reported:
        await _resolve_manual(rec, cell, contest, keep)
    # settle: the pusher first (a resolution to push), then everyone pulls
    for replica, label in ((b, "B"), (a, "A"), (b, "B")):
        await rec.sync(replica, cell.strategy, cell, label)

    server = await rec.stack.server_tasks(cell.repository)
    final = _fields(server.get(cell.task_id))
    log = await rec.stack.conflict_log(cell.repository)
    rec.server_log += log
    rec.states["server"].update({f"{cell.repository}/{tid}": t for tid, t in server.items()})
    for label, replica in (("A", a), ("B", b)):
        rec.states[label].update({f"{cell.repository}/{tid}": t for tid, t in replica.tasks().items()})
    rec.sides += contest.sides

    winners = tuple(str(c.get("winner")) for c in reported)
    records = log + reported
    lost = [s.side for s in contest.sides if _silently_lost(s, final, records)]
    newer = max(contest.sides, key=lambda s: s.last_edit_time) if contest.sides else None
    newer_kept = None if newer is None else _in_state(newer.changed, final)
    row = {
        "scenario": cell.scenario, "strategy": cell.strategy,
        "conflicts_reported": len(reported), "expected_conflicts": expectation.conflicts,
        "winner": _winner_label(winners, cell.strategy, keep),
        "expected_winner": _winner_label(expectation.winners, cell.strategy, keep),
        "final_value": describe(final), "expected_value": describe(expected_final),
        "final_label": short_label(final, cell.token),
        "silently_lost": ",".join(lost), "newer_side": newer.side if newer else "",
        "newer_kept": newer_kept, "repository": cell.repository, "task_id": cell.task_id,
        "push_op_id": contest.push_op_id,
        "op_ids": sorted({op for s in contest.sides for op in s.op_ids} | {contest.push_op_id}),
    }
    row["outcome"] = outcome_label(row)
    rec.outcomes.append(row)


@dataclass
class _Contest:
    """What a scenario hands back: the sides, what B pushed, and what came of it."""

    sides: list[Side]
    items: list[ModelItem]
    expectation: BatchExpectation
    reported: list[dict[str, Any]]
    push_op_id: int
    server_version: int  # the server's version after the push (for a manual resolution)
    resolve: Any = None  # how to resolve a manual conflict: a Replica or a batch pusher


class _SideTracker:
    """Collects one side's local writes: its ops and its net change against the base."""

    def __init__(self, rec: _Recorder, cell: Cell, side: str, replica: Replica | None,
                 base: SyncTaskFields | None) -> None:
        self.rec, self.cell, self.side, self.replica, self.base = rec, cell, side, replica, base
        self.op_ids: list[int] = []
        self.after: SyncTaskFields | None = None
        self.last_time = 0.0

    def write(self, operation: str, **fields: Any) -> None:
        replica = self.replica
        assert replica is not None
        op = self.rec.local(self.side, operation, self.cell, **fields)
        self.last_time = time.time()
        task_id = self.cell.task_id
        if operation == "add":
            task = replica.add(fields["content"], task_id=task_id)
        elif operation == "rm":
            task = replica.rm(task_id)
        else:
            task = replica.edit(task_id, **fields)
        op.ok(version=task.version)
        self.op_ids.append(op.op_id)
        self.after = task.fields

    def record(self, extra_ops: Sequence[int] = ()) -> Side | None:
        if self.after is None:
            return None
        changed = {
            name: getattr(self.after, name) for name in EDIT_FIELDS
            if self.base is None or getattr(self.after, name) != getattr(self.base, name)
        }
        if not changed:
            return None
        return Side(self.cell.scenario, self.cell.strategy, self.cell.repository,
                    self.cell.task_id, self.side, self.replica.client_id if self.replica else "",
                    changed, self.op_ids + list(extra_ops), self.last_time)


async def _setup(rec: _Recorder, cell: Cell, a: Replica, b: Replica) -> SyncTaskFields:
    """A creates the task and syncs; B pulls it. Returns the shared base fields."""
    op = rec.local("A", "add", cell, content=f"base {cell.token}")
    a.add(f"base {cell.token}", task_id=cell.task_id)
    op.ok()
    await rec.sync(a, cell.strategy, cell, "A")
    await rec.sync(b, cell.strategy, cell, "B")
    return b.get(cell.task_id).fields


async def _push(rec: _Recorder, cell: Cell, b: Replica, sides: list[_SideTracker],
                push_label: str = "B") -> _Contest:
    """B's contested sync: model what it should do from B's outbox, then sync it."""
    items, server_fields, server_time = await _model_inputs(rec, cell, b.pending_changes())
    push_time = datetime.now(UTC)
    report, op_id = await rec.sync(b, cell.strategy, cell, push_label)
    reported = [_conflict_dict(c) for c in report.conflicts] if report else []
    server = (await rec.stack.server_tasks(cell.repository)).get(cell.task_id) or {}
    recorded = []
    for tracker in sides:
        side = tracker.record(extra_ops=[op_id] if tracker.side == push_label else [])
        if side is not None:
            recorded.append(side)
    return _Contest(
        sides=recorded, items=items,
        expectation=expected_batch(cell.strategy, server_fields, server_time, items, push_time),
        reported=reported, push_op_id=op_id, server_version=int(server.get("version") or 0),
        resolve=b,
    )


async def _model_inputs(rec: _Recorder, cell: Cell, pending: Sequence[Any]
                        ) -> tuple[list[ModelItem], SyncTaskFields | None, datetime | None]:
    """The model's view right before a push: the items and the server task they meet."""
    server = (await rec.stack.server_tasks(cell.repository)).get(cell.task_id)
    log = None
    items = []
    for change in pending:
        base = change.base
        if base is None and change.base_version > 0:
            # The server merges against its log's snapshot when the item carries no base.
            log = log if log is not None else await rec.stack.change_log(cell.repository)
            base = next((_fields(e["task"]) for e in log
                         if e["task_id"] == change.task_id and e["version"] == change.base_version),
                        None)
        items.append(ModelItem(change.task, base, parse_rfc3339(change.updated_at)))
    server_time = parse_rfc3339(server["updated_at"]) if server else None
    return items, _fields(server), server_time


# -- the scenarios --------------------------------------------------------------------------


async def _a_syncs_then_b_pushes(
    rec: _Recorder, cell: Cell, a: Replica, b: Replica,
    a_write: tuple[str, dict[str, Any]], b_write: tuple[str, dict[str, Any]],
) -> _Contest:
    """The common contest: A writes and syncs, then B (still on the base) writes and pushes."""
    base = await _setup(rec, cell, a, b)
    side_a, side_b = _SideTracker(rec, cell, "A", a, base), _SideTracker(rec, cell, "B", b, base)
    side_a.write(a_write[0], **a_write[1])
    _, sync_a = await rec.sync(a, cell.strategy, cell, "A")
    side_a.op_ids.append(sync_a)
    side_b.write(b_write[0], **b_write[1])
    return await _push(rec, cell, b, [side_a, side_b])


async def _edit_edit_same_field(rec: _Recorder, cell: Cell, a: Replica, b: Replica) -> _Contest:
    return await _a_syncs_then_b_pushes(rec, cell, a, b, ("edit", {"content": f"A {cell.token}"}),
                                        ("edit", {"content": f"B {cell.token}"}))


async def _edit_edit_different_fields(rec: _Recorder, cell: Cell, a: Replica, b: Replica
                                      ) -> _Contest:
    return await _a_syncs_then_b_pushes(rec, cell, a, b, ("edit", {"content": f"A {cell.token}"}),
                                        ("edit", {"priority": "high"}))


async def _edit_delete(rec: _Recorder, cell: Cell, a: Replica, b: Replica) -> _Contest:
    return await _a_syncs_then_b_pushes(rec, cell, a, b, ("edit", {"content": f"A {cell.token}"}),
                                        ("rm", {}))


async def _delete_delete(rec: _Recorder, cell: Cell, a: Replica, b: Replica) -> _Contest:
    return await _a_syncs_then_b_pushes(rec, cell, a, b, ("rm", {}), ("rm", {}))


async def _concurrent_create(rec: _Recorder, cell: Cell, a: Replica, b: Replica) -> _Contest:
    # Both create the same id offline; A's create reaches the server first.
    side_a, side_b = _SideTracker(rec, cell, "A", a, None), _SideTracker(rec, cell, "B", b, None)
    side_a.write("add", content=f"A {cell.token}")
    side_b.write("add", content=f"B {cell.token}")
    _, sync_a = await rec.sync(a, cell.strategy, cell, "A")
    side_a.op_ids.append(sync_a)
    return await _push(rec, cell, b, [side_a, side_b])


async def _long_offline_edit(rec: _Recorder, cell: Cell, a: Replica, b: Replica) -> _Contest:
    # B goes offline and keeps editing status and priority while A edits and syncs the content
    # again and again; B's whole outbox (all based on the version it left with) then meets A's.
    base = await _setup(rec, cell, a, b)
    side_a, side_b = _SideTracker(rec, cell, "A", a, base), _SideTracker(rec, cell, "B", b, base)
    await rec.stack.go_offline(GROUP_B)
    try:
        await rec.sync(b, cell.strategy, cell, "B")  # fails: B is offline
        for k in range(rec.params.offline_edits):
            side_b.write("edit", status=_OFFLINE_STATUSES[k % len(_OFFLINE_STATUSES)],
                         priority=_OFFLINE_PRIORITIES[k % len(_OFFLINE_PRIORITIES)])
            side_a.write("edit", content=f"A{k + 1} {cell.token}")
            _, sync_a = await rec.sync(a, cell.strategy, cell, "A")
            side_a.op_ids.append(sync_a)
    finally:
        await rec.stack.go_online(GROUP_B)
    return await _push(rec, cell, b, [side_a, side_b])


async def _clock_skew_ahead(rec: _Recorder, cell: Cell, a: Replica, b: Replica) -> _Contest:
    # B's clock runs ahead: its older edit carries a later time than A's newer one.
    base = await _setup(rec, cell, a, b)
    side_a, side_b = _SideTracker(rec, cell, "A", a, base), _SideTracker(rec, cell, "B", b, base)
    side_b.write("edit", content=f"B {cell.token}")
    await asyncio.sleep(0.01)  # make "later in real time" unambiguous
    side_a.write("edit", content=f"A {cell.token}")
    _, sync_a = await rec.sync(a, cell.strategy, cell, "A")
    side_a.op_ids.append(sync_a)
    return await _push(rec, cell, b, [side_a, side_b])


async def _clock_skew_behind(rec: _Recorder, cell: Cell, a: Replica, b: Replica) -> _Contest:
    # B's clock runs behind: its newer edit carries an earlier time than A's older one.
    return await _a_syncs_then_b_pushes(rec, cell, a, b, ("edit", {"content": f"A {cell.token}"}),
                                        ("edit", {"content": f"B {cell.token}"}))


async def _plan_two_updates_then_batch(rec: _Recorder, cell: Cell, a: Replica, b: Replica
                                       ) -> _Contest:
    # The original plan's case: A and then B update the task (B on top of A's version), then
    # a third client's batch sync based on version 1 pushes a third content: one conflict.
    base = await _setup(rec, cell, a, b)
    op = rec.local("A", "edit", cell, content=f"two {cell.token}")
    a.edit(cell.task_id, content=f"two {cell.token}")
    op.ok()
    await rec.sync(a, cell.strategy, cell, "A")
    await rec.sync(b, cell.strategy, cell, "B")  # B now stands on A's version
    side_b = _SideTracker(rec, cell, "B", b, base)
    side_b.write("edit", content=f"B {cell.token}")
    _, sync_b = await rec.sync(b, cell.strategy, cell, "B")
    side_b.op_ids.append(sync_b)

    client = rec.stack.batch_client(GROUP_A, client_id=f"{cell.repository}.C", retry=STUDY_RETRY,
                                    observer=rec.history.observe_attempt)
    wrote_at = time.time()
    item = SyncItem(change_id=f"{cell.repository}.C:1", task_id=cell.task_id,
                    task=SyncTaskFields(content=f"third {cell.token}"), base_version=1,
                    updated_at=format_rfc3339(datetime.now(UTC)))
    items, server_fields, server_time = await _model_inputs(rec, cell, [_as_pending(item)])
    push_time = datetime.now(UTC)
    reported: list[dict[str, Any]] = []
    async with rec.history.record("C", "batch_sync", repository=cell.repository,
                                  task_id=cell.task_id, strategy=cell.strategy,
                                  content=item.task.content, base_version=1) as op:
        response = await client.batch_sync(cell.repository, [item], 0, cell.strategy)
        reported = [_conflict_dict(c) for c in response.conflicts]
        op.note(seq=response.cursor)
    rec.reported += reported
    server = (await rec.stack.server_tasks(cell.repository)).get(cell.task_id) or {}
    sides = [s for s in (side_b.record(), Side(
        cell.scenario, cell.strategy, cell.repository, cell.task_id, "C", client.client_id,
        {"content": item.task.content}, [op.op_id], wrote_at)) if s is not None]
    return _Contest(
        sides=sides, items=items,
        expectation=expected_batch(cell.strategy, server_fields, server_time, items, push_time),
        reported=reported, push_op_id=op.op_id, server_version=int(server.get("version") or 0),
        resolve=(client, item),
    )


_SCENARIO_RUNNERS = {
    "edit_edit_same_field": _edit_edit_same_field,
    "edit_edit_different_fields": _edit_edit_different_fields,
    "edit_delete": _edit_delete,
    "delete_delete": _delete_delete,
    "concurrent_create_same_id": _concurrent_create,
    "long_offline_edit": _long_offline_edit,
    "clock_skew_ahead": _clock_skew_ahead,
    "clock_skew_behind": _clock_skew_behind,
    "plan_two_updates_then_batch": _plan_two_updates_then_batch,
}


async def _resolve_manual(rec: _Recorder, cell: Cell, contest: _Contest, keep: str) -> None:
    """Close a manual conflict the way a user would: replica.resolve, or push again on top."""
    if isinstance(contest.resolve, Replica):
        replica = contest.resolve
        op = rec.local("B", "resolve", cell, keep=keep)
        replica.resolve(cell.task_id, keep)
        op.ok()
        return
    client, item = contest.resolve
    if keep == "server":
        return  # a batch client holds nothing locally: keeping the server's side is a no-op
    again = msgspec.structs.replace(item, change_id=f"{item.change_id}.resolved",
                                    base_version=contest.server_version)
    async with rec.history.record("C", "batch_sync", repository=cell.repository,
                                  task_id=cell.task_id, strategy=cell.strategy,
                                  content=item.task.content, base_version=again.base_version,
                                  resolves=True) as op:
        response = await client.batch_sync(cell.repository, [again], 0, cell.strategy)
        rec.reported += [_conflict_dict(c) for c in response.conflicts]
        op.note(seq=response.cursor)
    for side in contest.sides:
        if side.side == "C":
            side.op_ids.append(op.op_id)


# -- the clock-skew sweep -------------------------------------------------------------------


async def _run_skew_trial(rec: _Recorder, trial: SkewTrial) -> None:
    """One last_write_wins trial: which of two writes `gap_s` apart survives a skewed clock."""
    honest = rec.replica(f"{trial.repository}.H", GROUP_A, trial.repository)
    skewed = rec.replica(f"{trial.repository}.S", GROUP_B, trial.repository, skew_s=trial.skew_s)
    strategy = "last_write_wins"
    op = rec.local("H", "add", trial, content=f"base {trial.token}")
    honest.add(f"base {trial.token}", task_id=trial.task_id)
    op.ok()
    await rec.sync(honest, strategy, trial, "H")
    await rec.sync(skewed, strategy, trial, "S")
    honest_value, skewed_value = f"honest {trial.token}", f"skewed {trial.token}"

    async def honest_writes() -> float:
        edit = rec.local("H", "edit", trial, content=honest_value)
        honest.edit(trial.task_id, content=honest_value)
        edit.ok()
        await rec.sync(honest, strategy, trial, "H")
        stored = (await rec.stack.server_tasks(trial.repository))[trial.task_id]
        at = parse_rfc3339(stored["updated_at"])
        return at.timestamp() if at else time.time()

    def skewed_writes() -> float:
        edit = rec.local("S", "edit", trial, content=skewed_value, skew_s=trial.skew_s)
        at = time.time()
        skewed.edit(trial.task_id, content=skewed_value)
        edit.ok()
        return at

    # The honest write counts from when the server stamped it: that is the time LWW uses.
    if trial.ordering == "skewed_first":
        skewed_at = skewed_writes()
        await asyncio.sleep(trial.gap_s)
        honest_at = await honest_writes()
    else:
        honest_at = await honest_writes()
        await asyncio.sleep(trial.gap_s)
        skewed_at = skewed_writes()
    report, _ = await rec.sync(skewed, strategy, trial, "S")
    await rec.sync(honest, strategy, trial, "H")
    server = await rec.stack.server_tasks(trial.repository)
    rec.server_log += await rec.stack.conflict_log(trial.repository)
    for label, replica in (("A", honest), ("B", skewed)):
        rec.states[label].update({f"{trial.repository}/{t}": v for t, v in replica.tasks().items()})
    rec.states["server"].update({f"{trial.repository}/{t}": v for t, v in server.items()})
    final = server[trial.task_id]["content"]
    newer = "skewed" if skewed_at > honest_at else "honest"
    newer_value = skewed_value if newer == "skewed" else honest_value
    winners = [c.winner for c in report.conflicts] if report else []
    rec.trials.append({
        "trial": trial.trial, "skew_s": trial.skew_s, "ordering": trial.ordering,
        "gap_s": trial.gap_s, "measured_gap_s": round(abs(skewed_at - honest_at), 4),
        "newer": newer, "winner": ",".join(winners) or "-",
        "newer_write_lost": final != newer_value, "final_value": final,
        "repository": trial.repository,
    })


# -- the study's checks (pure) --------------------------------------------------------------


def expected_conflicts_reported(outcomes: pd.DataFrame) -> CheckResult:
    """Proves that every cell reported as many conflicts as the protocol's rules predict.

    The counterexample names each offending cell (scenario, strategy), both counts and the
    operations of the competing writes and the contested push.
    """
    bad = outcomes[outcomes["conflicts_reported"] != outcomes["expected_conflicts"]]
    counterexample = [
        {"scenario": row.scenario, "strategy": row.strategy, "repository": row.repository,
         "expected_conflicts": int(row.expected_conflicts),
         "conflicts_reported": int(row.conflicts_reported), "push_op_id": row.push_op_id,
         "op_ids": list(row.op_ids),
         "violation": f"{row.conflicts_reported} conflict(s) reported, "
                      f"{row.expected_conflicts} expected"}
        for row in bad.itertuples(index=False)
    ]
    return CheckResult(
        name="expected_conflicts_reported", passed=not counterexample,
        observed=f"{len(counterexample)} of {len(outcomes)} cells reported a wrong number",
        expected="0 cells", counterexample=counterexample,
        message=_cells_message(counterexample, "every cell reported the conflicts it should"),
    )


def winner_matches_strategy(outcomes: pd.DataFrame) -> CheckResult:
    """Proves that in every cell the strategy's side won and the task ended as it says.

    Compares the reported winners and the server's final value with the model's; the
    counterexample names the cell, both winners, both values and the operations.
    """
    counterexample = []
    for row in outcomes.itertuples(index=False):
        found = []
        if row.winner != row.expected_winner:
            found.append(f"winner {row.winner!r}, expected {row.expected_winner!r}")
        if row.final_value != row.expected_value:
            found.append(f"final {row.final_value!r}, expected {row.expected_value!r}")
        if found:
            counterexample.append({
                "scenario": row.scenario, "strategy": row.strategy,
                "repository": row.repository, "winner": row.winner,
                "expected_winner": row.expected_winner, "final_value": row.final_value,
                "expected_value": row.expected_value, "push_op_id": row.push_op_id,
                "op_ids": list(row.op_ids), "violation": "; ".join(found),
            })
    return CheckResult(
        name="winner_matches_strategy", passed=not counterexample,
        observed=f"{len(counterexample)} of {len(outcomes)} cells ended otherwise",
        expected="0 cells", counterexample=counterexample,
        message=_cells_message(counterexample, "every cell ended as its strategy says"),
    )


def no_silently_lost_changes(
    sides: Iterable[Side | Mapping[str, Any]],
    final_tasks: Mapping[tuple[str, str], Any],
    conflict_records: Iterable[Any],
) -> CheckResult:
    """Proves that no side's change vanished: each is in the final state or in a conflict.

    A side's change (the fields it changed against the shared base) is kept when the final
    task holds those values, or when a conflict record for the task holds them on its
    `client` or `server` side. `final_tasks` maps (repository, task_id) to the server's
    final task. The counterexample names the scenario, strategy, the lost side, its fields,
    its operations and the operations of the sides that overwrote it.
    """
    records_by_task: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in conflict_records:
        data = _conflict_dict(record)
        records_by_task.setdefault((data.get("repository"), data.get("task_id")), []).append(data)
    all_sides = [s if isinstance(s, Side) else Side(**s) for s in sides]
    counterexample = []
    for side in all_sides:
        key = (side.repository, side.task_id)
        final = _fields(final_tasks.get(key))
        if not _silently_lost(side, final, records_by_task.get(key, [])):
            continue
        others = [o for o in all_sides
                  if (o.repository, o.task_id) == key and o.side != side.side]
        counterexample.append({
            "scenario": side.scenario, "strategy": side.strategy, "repository": side.repository,
            "task_id": side.task_id, "side": side.side, "client": side.client,
            "lost_fields": dict(side.changed), "final": describe(final),
            "op_ids": list(side.op_ids),
            "overwritten_by_op_ids": sorted({op for o in others for op in o.op_ids}),
            "violation": f"side {side.side}'s change {side.changed} is neither in the final"
                         " task nor in a conflict record",
        })
    return CheckResult(
        name="no_silently_lost_changes", passed=not counterexample,
        observed=f"{len(counterexample)} of {len(all_sides)} side changes silently lost",
        expected="0 lost", counterexample=counterexample,
        message=_cells_message(counterexample, "every side's change is in the final state or a"
                                               " conflict record"),
    )


def _silently_lost(side: Side, final: SyncTaskFields | None, records: Iterable[Any]) -> bool:
    if final is not None and _in_state(side.changed, final):
        return False
    for record in records:
        data = _conflict_dict(record)
        if data.get("repository") != side.repository or data.get("task_id") != side.task_id:
            continue
        for part in ("client", "server"):
            if _in_state(side.changed, _fields(data.get(part))):
                return False
    return True


def _in_state(changed: Mapping[str, Any], fields: SyncTaskFields | None) -> bool:
    return fields is not None and all(getattr(fields, k) == v for k, v in changed.items())


def _cells_message(counterexample: list[dict[str, Any]], ok: str) -> str:
    if not counterexample:
        return ok
    shown = "; ".join(f"{c['scenario']}/{c['strategy']}: {c['violation']}"
                      for c in counterexample[:4])
    return shown + (" ..." if len(counterexample) > 4 else "")


# -- labels ---------------------------------------------------------------------------------


def describe(fields: SyncTaskFields | None) -> str:
    """A task's fields in one short line: "content [status, priority]" (+ " deleted")."""
    if fields is None:
        return "(absent)"
    text = f"{fields.content} [{fields.status}, {fields.priority}]"
    return text + " deleted" if fields.deleted else text


def short_label(fields: SyncTaskFields | None, token: str = "") -> str:
    """A final value for a chart cell: the content without the cell's token, and only the
    fields that differ from a new task's ("A3, completed, high", "base, deleted")."""
    if fields is None:
        return "(absent)"
    parts = [fields.content.replace(f" {token}", "") if token else fields.content]
    parts += [value for value, default in ((fields.status, "pending"),
                                            (fields.priority, "medium")) if value != default]
    return ", ".join(parts + (["deleted"] if fields.deleted else []))


def _winner_label(winners: Sequence[str], strategy: str, keep: str) -> str:
    if not winners:
        return "-"
    distinct = list(dict.fromkeys(winners))
    label = ",".join(distinct)
    if strategy == "manual" and distinct == ["none"]:
        label = f"none, resolved: {keep}"
    return label


def outcome_label(row: Mapping[str, Any]) -> str:
    """The heatmap category of one outcome row (silent loss and surprises first)."""
    if row["silently_lost"]:
        return "silently lost"
    if (row["conflicts_reported"] != row["expected_conflicts"]
            or row["winner"] != row["expected_winner"]
            or row["final_value"] != row["expected_value"]):
        return "unexpected"
    if not row["conflicts_reported"]:
        return "no conflict"
    winner = str(row["winner"])
    if winner.startswith("none"):
        return "manual, resolved"
    return {"server": "server won", "client": "client won", "merged": "merged"}.get(
        winner, "mixed winners")


# -- conversions ----------------------------------------------------------------------------


def _fields(value: Any) -> SyncTaskFields | None:
    """The editable fields of a task given as a dict, Task, LocalTask, tuple or fields."""
    if value is None:
        return None
    if isinstance(value, SyncTaskFields):
        return value
    if isinstance(value, tuple):
        content, status, priority, deleted = value[:4]
    else:
        data = value if isinstance(value, Mapping) else _as_dict(value)
        if not data:
            return None
        content, status, priority, deleted = (data.get("content", ""), data.get("status", "pending"),
                                              data.get("priority", "medium"),
                                              data.get("deleted", False))
    return SyncTaskFields(content=content, status=status, priority=priority, deleted=bool(deleted))


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, msgspec.Struct):
        return msgspec.to_builtins(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    return dict(vars(value))


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value


def _conflict_dict(conflict: Any) -> dict[str, Any]:
    """A conflict (server Conflict, replica ConflictRecord or dict) as plain data."""
    return _as_dict(conflict)


@dataclass(frozen=True)
class _PendingItem:
    task_id: str
    task: SyncTaskFields
    base_version: int
    base: SyncTaskFields | None
    updated_at: str


def _as_pending(item: SyncItem) -> _PendingItem:
    return _PendingItem(item.task_id, item.task, item.base_version, item.base, item.updated_at)


# -- the result -----------------------------------------------------------------------------


def _result(rec: _Recorder, params: ConflictParams, matrix_s: float, sweep_s: float,
            toxiproxy_version: str) -> ConflictStudyResult:
    outcomes = pd.DataFrame(rec.outcomes, columns=list(OUTCOME_COLUMNS))
    sides = pd.DataFrame([s.to_dict() for s in rec.sides])
    trials = pd.DataFrame(rec.trials, columns=list(SKEW_COLUMNS)).sort_values("trial")
    summary = skew_summary(trials)
    conflicts = pd.DataFrame([_flat_conflict(c) for c in rec.server_log])
    final_tasks = {
        tuple(key.split("/", 1)): task for key, task in rec.states["server"].items()
    }
    checks = [
        conflicts_reported_once(rec.reported, rec.server_log),
        expected_conflicts_reported(outcomes),
        winner_matches_strategy(outcomes),
        no_silently_lost_changes(rec.sides, final_tasks, rec.server_log + rec.reported),
        convergence(rec.states),
    ]
    metrics: dict[str, Any] = {
        "cells": len(outcomes),
        "conflicts_reported": int(outcomes["conflicts_reported"].sum()) if len(outcomes) else 0,
        "cells_as_expected": int((~outcomes["outcome"].isin(["unexpected", "silently lost"])).sum())
        if len(outcomes) else 0,
        "silently_lost_sides": int(sum(bool(v) for v in outcomes["silently_lost"])),
        "newer_write_lost_cells": int((outcomes["newer_kept"] == False).sum())  # noqa: E712
        if len(outcomes) else 0,
        "matrix_duration_s": round(matrix_s, 2),
        "sweep_duration_s": round(sweep_s, 2),
    }
    if len(trials):
        metrics["lww_trials"] = len(trials)
        metrics["lww_newer_write_lost_share"] = round(float(trials["newer_write_lost"].mean()), 3)
        losing = trials.loc[trials["newer_write_lost"], "skew_s"].abs()
        metrics["lww_smallest_losing_skew_s"] = float(losing.min()) if len(losing) else None
    return ConflictStudyResult(
        params=params, outcomes=outcomes, sides=sides, conflicts=conflicts,
        skew_trials=trials.reset_index(drop=True), skew_summary=summary,
        operations=rec.history.to_frame(), checks=checks, metrics=metrics,
        toxiproxy_version=toxiproxy_version,
    )


def skew_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """Per (skew, ordering): trials and the share in which last_write_wins lost the newer write."""
    columns = ["skew_s", "ordering", "trials", "newer_write_lost_share"]
    if trials.empty:
        return pd.DataFrame(columns=columns)
    grouped = trials.groupby(["skew_s", "ordering"], as_index=False).agg(
        trials=("trial", "count"), newer_write_lost_share=("newer_write_lost", "mean"))
    return grouped[columns].sort_values(["ordering", "skew_s"]).reset_index(drop=True)


def _flat_conflict(conflict: Mapping[str, Any]) -> dict[str, Any]:
    server, client = _fields(conflict.get("server")), _fields(conflict.get("client"))
    resolved = _fields(conflict.get("resolved"))
    return {
        "conflict_id": conflict.get("conflict_id"), "repository": conflict.get("repository"),
        "task_id": conflict.get("task_id"), "change_id": conflict.get("change_id"),
        "strategy": conflict.get("strategy"), "winner": conflict.get("winner"),
        "base_version": conflict.get("base_version"), "server": describe(server),
        "client": describe(client), "resolved": describe(resolved),
        "client_updated_at": conflict.get("client_updated_at"),
        "server_updated_at": (conflict.get("server") or {}).get("updated_at"),
        "fields": ",".join(conflict.get("fields") or []),
    }


__all__ = [
    "SCENARIOS", "STUDY", "BatchExpectation", "Cell", "ConflictParams", "ConflictStudyResult",
    "ModelItem", "Side", "SkewTrial", "Workload", "describe", "expected_batch",
    "expected_conflicts_reported", "no_silently_lost_changes", "outcome_label", "plan_workload",
    "run", "short_label", "skew_summary", "three_way_merge", "winner_matches_strategy",
]
