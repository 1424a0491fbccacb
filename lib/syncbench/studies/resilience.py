"""Resilience study: clients working through network faults, and the server protecting itself.

Three phases, one History:

1. Network faults. For each named fault (a profile of params/profiles.yaml, or one given in
   `custom_profiles`) a segment of `lead_seconds` clean, `fault_seconds` with the fault on
   the clients' Toxiproxy proxy (played by a ScheduleDriver), and `recover_seconds` clean.
   HTTP clients with a RetryPolicy create and update tasks all along; a bulk client writes
   one `large_task_bytes` task as each fault starts; WebSocket clients follow the change
   feed through the same proxy and resume after every disconnect.
2. Server protection. Injected storage faults (error rate, delay) open the server's circuit
   breaker; while open it answers 503 at once; half-open trials probe; it closes once
   storage is healthy again. Its own transition log is the evidence.
3. Rate limiting. On a second server started with a low --rate-limit/--rate-burst, one
   greedy client goes over its budget, gets 429 with Retry-After and must wait that long.

Every random choice comes from random.Random(seed); the result keeps the raw frames.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import contextvars
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from syncbench import stats as metrics
from syncbench.checks import (
    breaker_followed_state_machine,
    no_duplicates_from_retries,
    no_lost_acknowledged_writes,
    subscribers_saw_every_event,
)
from syncbench.history import OK, History, OpHandle
from syncbench.profiles import NetworkProfile, load_profiles, parse_profile
from syncbench.report import Report
from syncbench.schedule import FaultSchedule, FaultWindow, ScheduleDriver, applied_windows_frame
from syncbench.stack import Stack, StackConfig
from syncbench.verdict import CheckResult, StudyChecks
from tasksync.client import Attempt, HTTPClient, ReceivedEvent, RetryPolicy
from tasksync.client.errors import TaskSyncError
from tasksync.server.config import SEEDED_BUGS

STUDY = "resilience"
GROUP = "clients"  # the Toxiproxy proxy every faulted client goes through
GREEDY_GROUP = "greedy"
REPOSITORY = "resilience"
RATE_REPOSITORY = "resilience-rate"
PROTECTION_PHASE = "storage-faults"
RATE_PHASE = "rate-limit"
KEY_SEPARATOR = "|"  # a large task's content is "<key>|xxxx...": the key names the create

# Periods of an operation relative to its segment's fault window (by invocation time).
BEFORE, DURING, AFTER, RECOVERED = "before", "during", "after", "recovered"

DEFAULT_CUSTOM_PROFILES: dict[str, Any] = {
    "cut-responses": {
        "description": "A middlebox that cuts every response after 64 bytes: the server has "
        "applied the write, the client sees the connection close mid-response.",
        "toxics": [{"type": "limit_data", "stream": "downstream", "attributes": {"bytes": 64}}],
    },
}
DEFAULT_FAULTS: tuple[str, ...] = (
    "wan", "timeout-blackhole", "reset-storm", "bandwidth-1KBps", "slow-close",
    "cut-responses", "outage",
)

_current_op: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "resilience_op", default=None)


# -- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResilienceParams:
    """Everything a resilience run is started with; a bad value raises ValueError naming it."""

    faults: tuple[str, ...] = DEFAULT_FAULTS
    custom_profiles: Mapping[str, Any] = field(
        default_factory=lambda: dict(DEFAULT_CUSTOM_PROFILES))
    clients: int = 3
    ws_clients: int = 1
    lead_seconds: float = 0.5
    fault_seconds: float = 2.0
    recover_seconds: float = 1.5
    recovery_grace_seconds: float = 0.5
    think_seconds: float = 0.05
    update_share: float = 0.3
    request_timeout: float = 1.0
    max_attempts: int = 10
    base_delay: float = 0.05
    max_delay: float = 0.5
    retry_deadline: float = 8.0
    large_task_bytes: int = 10_000
    large_task_timeout: float = 15.0
    ws_heartbeat_timeout: float = 1.0
    ws_catchup_seconds: float = 15.0
    protection_phase: bool = True
    storage_error_rate: float = 1.0
    storage_delay_ms: float = 100.0
    storage_fault_seconds: float = 2.5
    storage_recover_seconds: float = 3.0
    breaker_window: int = 10
    breaker_threshold: int = 3
    breaker_open_seconds: float = 1.0
    breaker_half_open_calls: int = 2
    max_detect_seconds: float = 1.0
    max_recover_seconds: float = 3.0
    rate_limit_phase: bool = True
    rate_limit: float = 2.0
    rate_burst: float = 3.0
    rate_limit_requests: int = 12
    seed: int = 1
    seeded_bug: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "faults", tuple(self.faults))
        object.__setattr__(self, "custom_profiles", dict(self.custom_profiles or {}))
        if not self.protection_phase and not self.faults and not self.rate_limit_phase:
            raise ValueError("faults: give at least one fault (or turn on a protection phase)")
        for name in self.faults:
            if not isinstance(name, str) or not name:
                raise ValueError(f"faults: {name!r} is not a profile name")
        if len(set(self.faults)) != len(self.faults):
            raise ValueError(f"faults: each fault once, got {list(self.faults)}")
        positive = ("fault_seconds", "think_seconds", "request_timeout", "retry_deadline",
                    "large_task_timeout", "ws_heartbeat_timeout", "ws_catchup_seconds",
                    "storage_fault_seconds", "storage_recover_seconds", "breaker_open_seconds",
                    "max_detect_seconds", "max_recover_seconds", "rate_limit", "rate_burst")
        non_negative = ("lead_seconds", "recover_seconds", "recovery_grace_seconds",
                        "base_delay", "max_delay", "storage_delay_ms")
        for name in positive + non_negative:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name}: {value!r} is not a number")
            if value < 0 or (name in positive and value == 0):
                raise ValueError(f"{name}: {value!r} must be {'> 0' if name in positive else '>= 0'}")
        counts = {"clients": 1, "ws_clients": 0, "max_attempts": 1, "large_task_bytes": 0,
                  "breaker_window": 1, "breaker_threshold": 1, "breaker_half_open_calls": 1,
                  "rate_limit_requests": 1}
        for name, least in counts.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name}: {value!r} must be a whole number >= {least}")
        if self.breaker_threshold > self.breaker_window:
            raise ValueError("breaker_threshold: must not exceed breaker_window")
        for name in ("update_share", "storage_error_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name}: {value!r} must be between 0 and 1")
        if self.recovery_grace_seconds >= self.recover_seconds and self.faults:
            raise ValueError("recovery_grace_seconds: must be shorter than recover_seconds, or "
                             "no operation is left to show the recovery")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed: {self.seed!r} is not an integer")
        if self.seeded_bug and self.seeded_bug not in SEEDED_BUGS:
            raise ValueError(f"seeded_bug: {self.seeded_bug!r} is not one of "
                             f"{', '.join(sorted(SEEDED_BUGS))} (or '' for none)")
        unknown = [name for name in self.faults if name not in self.profiles()]
        if unknown:
            raise ValueError(f"faults: unknown profile(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(self.profiles()))}")

    def profiles(self) -> dict[str, NetworkProfile]:
        """params/profiles.yaml plus `custom_profiles` (which win on a shared name)."""
        profiles = load_profiles()
        for name, raw in self.custom_profiles.items():
            try:
                profiles[str(name)] = parse_profile(str(name), raw, "custom_profiles")
            except ValueError as exc:
                raise ValueError(f"custom_profiles: {exc}") from None
        return profiles

    @property
    def segment_seconds(self) -> float:
        return self.lead_seconds + self.fault_seconds + self.recover_seconds

    def retry_policy(self, seed: int) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, base_delay=self.base_delay,
                           max_delay=self.max_delay, deadline=self.retry_deadline, seed=seed)

    def server_options(self) -> tuple[str, ...]:
        options = ("--breaker-window", str(self.breaker_window),
                   "--breaker-threshold", str(self.breaker_threshold),
                   "--breaker-open-seconds", str(self.breaker_open_seconds),
                   "--breaker-half-open-calls", str(self.breaker_half_open_calls))
        return options + (("--seeded-bug", self.seeded_bug) if self.seeded_bug else ())

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["faults"] = list(self.faults)
        return data


# -- workload --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRequest:
    """One step of a client's workload: create a new task, or update one it created."""

    kind: str  # "create" | "update"
    key: str  # create: the logical key (the task's content); update: ""
    target: int  # update: index among this client's acknowledged creates (modulo their count)
    status: str
    priority: str
    pause: float  # seconds to think before the next step


STATUSES = ("pending", "in_progress", "completed")
PRIORITIES = ("low", "medium", "high")


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


# -- study-specific checks (pure) -------------------------------------------------------------


def success_restored_after_recovery(operations: pd.DataFrame) -> CheckResult:
    """Proves that, in every fault segment, operations invoked once the fault was cleared (and
    the grace period passed) all succeeded: the success rate is back to 100%.

    `operations` needs columns op_id, phase, period, outcome (period "recovered" marks the
    ones that count). A segment with no recovered operation cannot show recovery and fails.
    """
    counterexample: list[dict[str, Any]] = []
    rates: dict[str, float] = {}
    for phase, group in operations.groupby("phase", sort=False):
        recovered = group[group["period"] == RECOVERED]
        if recovered.empty:
            counterexample.append({"phase": phase, "violation": "no operation was invoked "
                                   "after recovery; lengthen recover_seconds"})
            continue
        rates[str(phase)] = float((recovered["outcome"] == OK).mean())
        for row in recovered[recovered["outcome"] != OK].to_dict("records"):
            counterexample.append({**_plain_row(row), "violation":
                                   f"{row['outcome']} after {phase} was cleared"})
    worst = min(rates.values(), default=float("nan"))
    worst_phase = min(rates, key=rates.__getitem__) if rates else "-"
    return CheckResult(
        name="success_rate_back_to_100_after_recovery",
        passed=bool(rates) and not counterexample,
        observed=f"lowest {worst:.1%} ({worst_phase}) over {len(rates)} faults"
        if rates else "no fault segment with recovered operations",
        expected="100% in every fault segment",
        message="; ".join(f"{p}: {r:.1%}" for p, r in rates.items()),
        counterexample=counterexample,
    )


def _transitions(transitions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({"from": t["from"], "to": t["to"], "at": float(t["at_unix"]),
                    "reason": t.get("reason", "")} for t in transitions), key=lambda t: t["at"])


def breaker_detected_within(transitions: Sequence[Mapping[str, Any]], fault_start: float,
                            max_seconds: float) -> CheckResult:
    """Proves the breaker opened within `max_seconds` of the storage fault starting.

    `transitions` as /api/v1/admin/breaker lists them (from, to, at_unix); times are unix s.
    """
    opened = [t for t in _transitions(transitions) if t["to"] == "open" and t["at"] >= fault_start]
    if not opened:
        return CheckResult("breaker_time_to_detect", False, "never opened",
                           f"<= {max_seconds:g} s", "the breaker did not open after the "
                           "storage fault started", [{"fault_start": fault_start,
                                                      "transitions": list(transitions)}])
    seconds = opened[0]["at"] - fault_start
    return CheckResult("breaker_time_to_detect", seconds <= max_seconds, f"{seconds:.3f} s",
                       f"<= {max_seconds:g} s", opened[0]["reason"],
                       [] if seconds <= max_seconds else [{**opened[0], "fault_start": fault_start}])


def breaker_recovered_within(transitions: Sequence[Mapping[str, Any]], fault_cleared: float,
                             max_seconds: float) -> CheckResult:
    """Proves the breaker was closed again within `max_seconds` of the storage fault clearing.

    A breaker that was closed when the fault cleared (and stayed so) recovered in 0 s.
    """
    steps = _transitions(transitions)
    before = [t for t in steps if t["at"] < fault_cleared]
    after = [t for t in steps if t["at"] >= fault_cleared]
    state_at_clear = before[-1]["to"] if before else "closed"
    if state_at_clear == "closed" and not after:
        return CheckResult("breaker_time_to_recover", True, "0.000 s", f"<= {max_seconds:g} s",
                           "closed when the fault cleared")
    closed = [t for t in after if t["to"] == "closed"]
    if not closed:
        return CheckResult("breaker_time_to_recover", False, "never closed",
                           f"<= {max_seconds:g} s", f"still {steps[-1]['to']} at the end",
                           [{"fault_cleared": fault_cleared, "transitions": after}])
    seconds = closed[0]["at"] - fault_cleared
    return CheckResult("breaker_time_to_recover", seconds <= max_seconds, f"{seconds:.3f} s",
                       f"<= {max_seconds:g} s", closed[0]["reason"],
                       [] if seconds <= max_seconds else [{**closed[0], "fault_cleared": fault_cleared}])


def retry_after_honoured(attempts: pd.DataFrame, *, tolerance: float = 0.01,
                         max_retry_after: float = 30.0) -> CheckResult:
    """Proves that after each 429 carrying Retry-After the client waited at least that long.

    `attempts` has one row per attempt: call_id, attempt, status_code, retry_after,
    gap_s (seconds from this attempt's end to the next attempt's start; NaN for the last).
    A run without any retried 429 shows nothing and fails.
    """
    limited = attempts[(attempts["status_code"] == 429) & attempts["retry_after"].notna()
                       & attempts["gap_s"].notna()]
    if limited.empty:
        return CheckResult("client_honoured_retry_after", False, "no retried 429",
                           "every wait >= Retry-After", "the client never went over its budget; "
                           "lower rate_limit/rate_burst or raise rate_limit_requests")
    wanted = limited["retry_after"].clip(upper=max_retry_after)
    short = limited[limited["gap_s"] + tolerance < wanted]
    margin = float((limited["gap_s"] - wanted).min())
    return CheckResult(
        name="client_honoured_retry_after",
        passed=short.empty,
        observed=f"{len(short)} early of {len(limited)} retried 429s (min margin {margin:+.3f} s)",
        expected="0 retries before Retry-After",
        message="every retry after a 429 waited at least Retry-After" if short.empty
        else "the client retried before the server's Retry-After",
        counterexample=[{**_plain_row(row), "violation": f"waited {row['gap_s']:.3f} s of "
                         f"{row['retry_after']:g} s"} for row in short.to_dict("records")],
    )


def _plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, pd.Timestamp):
            value = value.isoformat()
        elif value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            value = None
        elif hasattr(value, "item"):
            value = value.item()
        plain[str(key)] = value
    return plain


# -- labelling (pure) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A stretch of the run devoted to one fault: [start, end) wall-clock, its window inside."""

    phase: str
    start: float
    end: float
    fault_start: float | None = None
    fault_end: float | None = None


def period_of(time_s: float, segment: Segment, grace: float) -> str:
    """Where `time_s` lies relative to the segment's fault window."""
    if segment.fault_start is None or segment.fault_end is None:
        return DURING
    if time_s < segment.fault_start:
        return BEFORE
    if time_s < segment.fault_end:
        return DURING
    return RECOVERED if time_s >= segment.fault_end + grace else AFTER


def label(frame: pd.DataFrame, time_column: str, segments: Sequence[Segment],
          grace: float) -> pd.DataFrame:
    """`frame` with `phase` and `period` columns, from the segment each row's time falls in."""
    phases, periods = [], []
    ordered = sorted(segments, key=lambda s: s.start)
    for value in frame[time_column]:
        chosen = next((s for s in reversed(ordered) if value >= s.start), ordered[0] if ordered else None)
        phases.append(chosen.phase if chosen else "")
        periods.append(period_of(float(value), chosen, grace) if chosen else DURING)
    return frame.assign(phase=phases, period=periods)


# -- the run --------------------------------------------------------------------------------------


@dataclass
class ResilienceResult(StudyChecks):
    """What a run produced: raw frames, checks and metrics."""

    params: ResilienceParams
    operations: pd.DataFrame  # one row per operation (History.to_frame + phase, period, time)
    attempts: pd.DataFrame  # one row per HTTP attempt (Attempt records + op_id, phase, gap_s)
    windows: pd.DataFrame  # fault windows (target, profile, start, end), network and storage
    breaker: pd.DataFrame  # the breaker's transitions (time, from, to, state, reason)
    deliveries: pd.DataFrame  # one row per WebSocket event delivered
    websocket: pd.DataFrame  # one row per WebSocket client: its stats
    checks: list[CheckResult]
    metrics: dict[str, Any]
    environment: dict[str, Any]
    started: float = 0.0
    ended: float = 0.0

    def retries_frame(self) -> pd.DataFrame:
        """One row per operation that reached the server: phase, retries (attempts - 1)."""
        frame = self.operations[self.operations["attempts"].notna()]
        return frame.assign(retries=frame["attempts"].astype(int) - 1)[
            ["op_id", "phase", "period", "operation", "retries"]]

    def latency_percentiles(self) -> pd.DataFrame:
        """p50/p90/p99 latency (ms) of operations invoked during each fault, and a baseline
        of those invoked before any fault of their segment."""
        ops = self.operations.dropna(subset=["latency_ms"])
        during = ops[ops["period"] == DURING]
        baseline = ops[ops["period"] == BEFORE].assign(phase="baseline")
        frame = pd.concat([baseline, during], ignore_index=True)
        return metrics.percentiles_by(frame, "latency_ms", "phase")

    def breaker_states(self) -> pd.DataFrame:
        """The breaker's state over time (closed at the start), for charts.breaker_timeline."""
        start = pd.DataFrame({"time": [pd.to_datetime(self.started, unit="s", utc=True)],
                              "state": ["closed"]})
        return pd.concat([start, self.breaker[["time", "state"]]], ignore_index=True)

    @property
    def end_time(self) -> pd.Timestamp:
        return pd.to_datetime(self.ended, unit="s", utc=True)

    def report(self, output_dir: str = ".") -> Report:
        """A Report holding this run's checks, metrics, raw data and environment."""
        report = Report(study=STUDY, output_dir=output_dir, parameters=self.params.as_dict(),
                        seed=self.params.seed, environment=dict(self.environment))
        for check in self.checks:
            report.check(check)
        units = {"_ms": "ms", "_s": "s"}
        for name, value in self.metrics.items():
            unit = next((u for suffix, u in units.items() if name.endswith(suffix)), "")
            report.metric(name, value, unit=unit)
        report.data("operations", self.operations)
        report.data("attempts", self.attempts)
        report.data("windows", self.windows)
        report.data("breaker", self.breaker)
        report.data("deliveries", self.deliveries)
        report.data("websocket", self.websocket)
        report.data("latency_percentiles", self.latency_percentiles())
        return report


class _Recorder:
    """The History plus one row per HTTP attempt, each tied to the operation it served."""

    def __init__(self) -> None:
        self.history = History()
        self.attempts: list[dict[str, Any]] = []

    def observe(self, attempt: Attempt) -> None:
        self.history.observe_attempt(attempt)
        row = {name: getattr(attempt, name) for name in Attempt.__dataclass_fields__}
        row["op_id"] = _current_op.get()
        self.attempts.append(row)

    def record(self, client: str, operation: str, **args: Any) -> Any:
        return _OpScope(self.history, client, operation, args)


class _OpScope:
    """history.record(...) that also marks the operation for the attempt observer."""

    def __init__(self, history: History, client: str, operation: str, args: dict[str, Any]):
        self._inner = history.record(client, operation, **args)
        self._token: contextvars.Token[int | None] | None = None

    async def __aenter__(self) -> OpHandle:
        handle = await self._inner.__aenter__()
        self._token = _current_op.set(handle.op_id)
        return handle

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        if self._token is not None:
            _current_op.reset(self._token)
        return await self._inner.__aexit__(*exc_info)


async def _client_loop(client: HTTPClient, recorder: _Recorder, steps: Sequence[PlannedRequest],
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
            key = step.key
            async with recorder.record(client.client_id, "create", key=key, content=key) as op:
                task = await client.create_task(repository, key, status=step.status,
                                                priority=step.priority)
                op.ok(task_id=task.id, version=task.version)
                created.append(task.id)
        await asyncio.sleep(step.pause)


async def _large_create(client: HTTPClient, recorder: _Recorder, key: str, size: int,
                        at: float, driver: ScheduleDriver, profile: str) -> None:
    """One large create, sent as soon as the fault window starting at `at` is in effect."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, at - loop.time()))
    for _ in range(200):  # the driver puts the profile on in a thread: wait up to 2 s for it
        window = driver.active.get(GROUP)
        if window is not None and window.profile.name == profile:
            break
        await asyncio.sleep(0.01)
    content = key + KEY_SEPARATOR + "x" * size
    async with recorder.record(client.client_id, "create", key=key, size=size) as op:
        task = await client.create_task(REPOSITORY, content)
        op.ok(task_id=task.id, version=task.version)


async def _probe(client: HTTPClient, start_at: float, stop_at: float, pause: float) -> None:
    """One unretried read every `pause` seconds from `start_at` to `stop_at` (attempts only:
    these reads are no workload operations, they show how the server answers)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start_at - loop.time()))
    for _ in range(math.ceil((stop_at - start_at) / pause) + 1):
        if loop.time() >= stop_at:
            return
        with contextlib.suppress(TaskSyncError):
            await client.list_tasks(REPOSITORY, limit=1)
        await asyncio.sleep(pause)


async def _progress(segments: Sequence[tuple[float, str]]) -> None:
    loop = asyncio.get_running_loop()
    for at, line in segments:
        await asyncio.sleep(max(0.0, at - loop.time()))
        print(f"resilience: {line}", flush=True)


async def _storage_fault(stack: Stack, params: ResilienceParams, at: float,
                         record: dict[str, float]) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, at - loop.time()))
    await stack.set_storage_faults(params.storage_error_rate, params.storage_delay_ms,
                                   seed=params.seed)
    record["start"] = time.time()
    try:
        await asyncio.sleep(params.storage_fault_seconds)
    finally:
        await stack.clear_storage_faults()
        record["end"] = time.time()


async def run(params: ResilienceParams | None = None) -> ResilienceResult:
    """Run the study on fresh stacks and return its frames, checks and metrics."""
    params = params or ResilienceParams()
    profiles = params.profiles()
    recorder = _Recorder()
    deliveries: list[dict[str, Any]] = []
    segments: list[Segment] = []
    started = time.time()
    environment: dict[str, Any] = {}
    storage: dict[str, float] = {}
    grace = params.recovery_grace_seconds

    print(f"resilience: seed {params.seed}, faults {', '.join(params.faults) or 'none'}"
          f"{', seeded bug ' + params.seeded_bug if params.seeded_bug else ''}", flush=True)
    config = StackConfig(groups=(GROUP,), server_options=params.server_options())
    async with Stack(config) as stack:
        assert stack.toxiproxy_info is not None
        environment["toxiproxy_version"] = stack.toxiproxy_info.version
        environment["toxiproxy_source"] = stack.toxiproxy_info.source
        environment["retry_policy"] = params.retry_policy(params.seed).as_dict()
        loop = asyncio.get_running_loop()
        origin, origin_wall = loop.time() + 0.2, time.time() + 0.2  # a moment to set up

        # Timeline: one segment per fault, then the storage-fault segment.
        windows = tuple(
            FaultWindow(at=index * params.segment_seconds + params.lead_seconds,
                        duration=params.fault_seconds, target=GROUP, profile=profiles[name])
            for index, name in enumerate(params.faults))
        network_end = len(params.faults) * params.segment_seconds
        protection_end = network_end + (
            params.lead_seconds + params.storage_fault_seconds + params.storage_recover_seconds
            if params.protection_phase else 0.0)
        stop_at = origin + protection_end

        ws_clients = []
        for index in range(params.ws_clients):
            name = f"ws-{index + 1}"

            def on_event(received: ReceivedEvent, name: str = name) -> None:
                deliveries.append({
                    "subscriber": name, "repository": received.event.repository,
                    "seq": received.event.seq, "received_time": received.received_at,
                    "replay": received.replay, "connection": received.connection,
                    "latency_ms": received.delivery_latency * 1000})

            feed = stack.ws_client({REPOSITORY: 0}, GROUP, client_id=name, on_event=on_event,
                                   heartbeat_timeout=params.ws_heartbeat_timeout,
                                   open_timeout=max(params.request_timeout, 0.5),
                                   reconnect=RetryPolicy(max_attempts=None,
                                                         base_delay=params.base_delay,
                                                         max_delay=params.max_delay,
                                                         deadline=120.0, seed=params.seed + index))
            await feed.connect(timeout=10)
            ws_clients.append(feed)

        clients = [stack.http_client(GROUP, f"client-{i + 1}",
                                     retry=params.retry_policy(params.seed + i),
                                     observer=recorder.observe, timeout=params.request_timeout)
                   for i in range(params.clients)]
        bulk = stack.http_client(GROUP, "bulk", retry=RetryPolicy(
            max_attempts=params.max_attempts, base_delay=params.base_delay,
            max_delay=params.max_delay, deadline=params.large_task_timeout * 2,
            seed=params.seed + 1000), observer=recorder.observe,
            timeout=params.large_task_timeout)
        steps_needed = int(protection_end / params.think_seconds * 2) + 10
        plans = [plan_requests(params.seed, c.client_id, steps_needed,
                               update_share=params.update_share,
                               think_seconds=params.think_seconds) for c in clients]

        driver = ScheduleDriver(stack.control, FaultSchedule(windows), {GROUP: stack.proxy(GROUP)})
        lines = [(origin + w.at, f"fault {i + 1}/{len(windows)}: {w.profile.name} for "
                  f"{w.duration:g} s") for i, w in enumerate(windows)]
        if params.protection_phase:
            lines.append((origin + network_end, f"storage faults: error rate "
                          f"{params.storage_error_rate:g}, delay {params.storage_delay_ms:g} ms"))
        work = [asyncio.create_task(_client_loop(c, recorder, plan, REPOSITORY, stop_at))
                for c, plan in zip(clients, plans, strict=True)]
        if params.large_task_bytes:
            work += [asyncio.create_task(_large_create(
                bulk, recorder, f"bulk-{i + 1}", params.large_task_bytes, origin + w.at,
                driver, w.profile.name)) for i, w in enumerate(windows)]
        side = [asyncio.create_task(_progress(lines))]
        if params.protection_phase:
            side.append(asyncio.create_task(_storage_fault(
                stack, params, origin + network_end + params.lead_seconds, storage)))
            # A client that never retries shows how the server answers each request.
            probe = stack.http_client(GROUP, "probe", retry=RetryPolicy(max_attempts=1),
                                      observer=recorder.observe, timeout=params.request_timeout)
            side.append(asyncio.create_task(_probe(
                probe, origin + network_end, stop_at, params.think_seconds)))
        await asyncio.sleep(max(0.0, origin - loop.time()))
        try:
            async with driver:
                await driver.wait(network_end + 60)
                await asyncio.gather(*side)
                # Every operation ends: the retry deadline bounds each one.
                async with asyncio.timeout(protection_end + params.large_task_timeout * 3 + 30):
                    await asyncio.gather(*work)
        finally:
            for task in work + side:
                task.cancel()
            await asyncio.gather(*work, *side, return_exceptions=True)
        recorder.history.complete_pending("run ended")
        applied = driver.applied
        anchor = driver.started_at or origin_wall

        # WebSocket clients catch up with the log (bounded), then stop.
        log = await stack.change_log(REPOSITORY)
        last_seq = max((event["seq"] for event in log), default=0)
        print(f"resilience: waiting for {len(ws_clients)} WebSocket client(s) to reach seq "
              f"{last_seq}", flush=True)
        for _ in range(math.ceil(params.ws_catchup_seconds / 0.1)):
            if all(feed.last_seq.get(REPOSITORY, 0) >= last_seq for feed in ws_clients):
                break
            await asyncio.sleep(0.1)
        websocket = pd.DataFrame([{"subscriber": f"ws-{i + 1}", **feed.stats.as_dict(),
                                   "last_seq": feed.last_seq.get(REPOSITORY, 0)}
                                  for i, feed in enumerate(ws_clients)])
        for feed in ws_clients:
            await feed.close()

        final_tasks = await stack.server_tasks(REPOSITORY)
        breaker = await stack.breaker()

    for index, name in enumerate(params.faults):
        seg_start = anchor + index * params.segment_seconds
        window = next((w for w in applied if w.profile == name), None)
        segments.append(Segment(name, seg_start, seg_start + params.segment_seconds,
                                window.started if window else None,
                                window.ended if window else None))
    if params.protection_phase:
        seg_start = anchor + network_end
        segments.append(Segment(PROTECTION_PHASE, seg_start, anchor + protection_end,
                                storage.get("start"), storage.get("end")))

    # Rate limiting, on a server of its own so the budget bites only here.
    if params.rate_limit_phase:
        print(f"resilience: rate limit {params.rate_limit:g}/s, burst {params.rate_burst:g}: "
              f"{params.rate_limit_requests} requests back to back", flush=True)
        rate_config = StackConfig(groups=(GREEDY_GROUP,), server_options=(
            "--rate-limit", str(params.rate_limit), "--rate-burst", str(params.rate_burst),
            *(("--seeded-bug", params.seeded_bug) if params.seeded_bug else ())))
        async with Stack(rate_config) as rate_stack:
            greedy = rate_stack.http_client(GREEDY_GROUP, "greedy",
                                            retry=params.retry_policy(params.seed + 2000),
                                            observer=recorder.observe,
                                            timeout=params.request_timeout)
            segments.append(Segment(RATE_PHASE, time.time(), math.inf))
            for number in range(1, params.rate_limit_requests + 1):
                key = f"greedy-{number}"
                async with recorder.record("greedy", "create", key=key, content=key) as op:
                    task = await greedy.create_task(RATE_REPOSITORY, key)
                    op.ok(task_id=task.id, version=task.version)
            final_tasks.update(await rate_stack.server_tasks(RATE_REPOSITORY))
    ended = time.time()

    # -- frames ---------------------------------------------------------------------------------
    ops = recorder.history.to_frame()
    ops = label(ops, "invoke_time", segments, grace)
    ops["time"] = pd.to_datetime(ops["invoke_time"], unit="s", utc=True)
    ops["latency_ms"] = ops["latency_s"] * 1000
    attempts = _attempts_frame(recorder.attempts, segments, grace)
    window_frame = applied_windows_frame(applied)
    if storage:
        window_frame = pd.concat([window_frame, pd.DataFrame([{
            "target": "storage", "profile": f"storage errors {params.storage_error_rate:.0%}"
            f" +{params.storage_delay_ms:g} ms",
            "start": pd.to_datetime(storage["start"], unit="s", utc=True),
            "end": pd.to_datetime(storage.get("end", ended), unit="s", utc=True)}])],
            ignore_index=True)
    transitions = breaker.get("transitions", [])
    breaker_frame = pd.DataFrame([{
        "time": pd.to_datetime(t["at_unix"], unit="s", utc=True), "from": t["from"],
        "to": t["to"], "state": t["to"], "reason": t["reason"], "at_unix": t["at_unix"]}
        for t in transitions], columns=["time", "from", "to", "state", "reason", "at_unix"])
    delivery_frame = pd.DataFrame(deliveries, columns=[
        "subscriber", "repository", "seq", "received_time", "replay", "connection",
        "latency_ms"])
    if not delivery_frame.empty:
        delivery_frame["time"] = pd.to_datetime(delivery_frame["received_time"], unit="s",
                                                utc=True)

    # -- checks ---------------------------------------------------------------------------------
    history = recorder.history
    checks = [
        no_lost_acknowledged_writes(history, final_tasks),
        no_duplicates_from_retries(history, final_tasks, task_key=task_key),
        success_restored_after_recovery(ops[ops["phase"] != RATE_PHASE]),
        breaker_followed_state_machine(transitions),
    ]
    if params.ws_clients:
        seqs = [event["seq"] for event in log]
        checks.append(subscribers_saw_every_event(
            delivery_frame[["subscriber", "repository", "seq", "received_time"]],
            {REPOSITORY: seqs},
            subscriptions={f"ws-{i + 1}": {REPOSITORY: 0} for i in range(params.ws_clients)}))
    if params.protection_phase and "start" in storage:
        checks.append(breaker_detected_within(transitions, storage["start"],
                                              params.max_detect_seconds))
        checks.append(breaker_recovered_within(transitions, storage["end"],
                                               params.max_recover_seconds))
    if params.rate_limit_phase:
        checks.append(retry_after_honoured(attempts[attempts["phase"] == RATE_PHASE]))

    result = ResilienceResult(
        params=params, operations=ops, attempts=attempts, windows=window_frame,
        breaker=breaker_frame, deliveries=delivery_frame, websocket=websocket, checks=checks,
        metrics={}, environment=environment, started=started, ended=ended)
    result.metrics = study_metrics(result, storage)
    failed = [c.name for c in checks if not c.passed]
    print(f"resilience: done in {ended - started:.1f} s; "
          f"{'all checks pass' if not failed else 'FAILED: ' + ', '.join(failed)}", flush=True)
    return result


def _attempts_frame(rows: list[dict[str, Any]], segments: Sequence[Segment],
                    grace: float) -> pd.DataFrame:
    columns = [*Attempt.__dataclass_fields__, "op_id"]
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame.assign(phase=[], period=[], gap_s=[], duration_ms=[], time=[])
    frame = label(frame, "started_at", segments, grace)
    frame = frame.sort_values(["call_id", "attempt"], kind="stable")
    next_start = frame.groupby("call_id")["started_monotonic"].shift(-1)
    frame["gap_s"] = next_start - frame["ended_monotonic"]
    frame = frame.sort_values("started_monotonic", kind="stable").reset_index(drop=True)
    frame["duration_ms"] = (frame["ended_monotonic"] - frame["started_monotonic"]) * 1000
    frame["time"] = pd.to_datetime(frame["started_at"], unit="s", utc=True)
    frame["status_code"] = frame["status_code"].astype("Int64")
    frame["op_id"] = frame["op_id"].astype("Int64")
    frame["retry_after"] = frame["retry_after"].astype("float64")
    return frame


def breaker_state_at(transitions: pd.DataFrame, times: pd.Series) -> pd.Series:
    """The breaker state ("closed" before any transition) at each unix time in `times`."""
    if transitions.empty:
        return pd.Series(["closed"] * len(times), index=times.index)
    at = transitions["at_unix"].to_numpy()
    states = transitions["state"].to_list()
    order = sorted(range(len(at)), key=lambda i: at[i])
    at = [at[i] for i in order]
    states = [states[i] for i in order]
    return pd.Series([states[bisect.bisect_right(at, t) - 1] if bisect.bisect_right(at, t) else
                      "closed" for t in times], index=times.index)


def study_metrics(result: ResilienceResult, storage: Mapping[str, float]) -> dict[str, Any]:
    """Headline numbers: per fault success rate, attempts and latency; breaker; WebSocket."""
    ops, attempts = result.operations, result.attempts
    out: dict[str, Any] = {"operations": int(len(ops)), "attempts": int(len(attempts))}
    for phase in [*result.params.faults, PROTECTION_PHASE]:
        during = ops[(ops["phase"] == phase) & (ops["period"] == DURING)]
        if during.empty:
            continue
        out[f"{phase}.success_rate_during"] = round(float((during["outcome"] == OK).mean()), 4)
        out[f"{phase}.attempts_per_request"] = round(float(during["attempts"].dropna().mean()), 3) \
            if during["attempts"].notna().any() else None
        latency = during["latency_ms"].dropna()
        if not latency.empty:
            out[f"{phase}.p50_latency_ms"] = round(float(latency.quantile(0.5)), 1)
            out[f"{phase}.p99_latency_ms"] = round(float(latency.quantile(0.99)), 1)
        large = ops[(ops["phase"] == phase) & ops.get("arg_size", pd.Series(dtype=float)).notna()]
        if not large.empty and large["latency_ms"].notna().any():
            out[f"{phase}.large_task_latency_ms"] = round(float(large["latency_ms"].iloc[0]), 1)
    if not result.websocket.empty:
        for column in ("reconnects", "replayed", "events", "duplicates_dropped",
                       "heartbeat_timeouts", "connect_failures"):
            out[f"ws.{column}"] = int(result.websocket[column].sum())
    if storage and not attempts.empty:
        states = breaker_state_at(result.breaker, attempts["started_at"])
        failed_503 = attempts[attempts["status_code"] == 503]
        fast = failed_503[states.loc[failed_503.index] == "open"]
        slow = failed_503[states.loc[failed_503.index] != "open"]
        out["breaker.open_503s"] = int(len(fast))
        out["breaker.storage_503s"] = int(len(slow))
        if not fast.empty:
            out["breaker.open_503_median_ms"] = round(float(fast["duration_ms"].median()), 2)
        if not slow.empty:
            out["breaker.storage_503_median_ms"] = round(float(slow["duration_ms"].median()), 2)
        out["breaker.half_open_trials"] = int((result.breaker["to"] == "half_open").sum())
        out["breaker.transitions"] = int(len(result.breaker))
        for check in result.checks:
            if check.name in ("breaker_time_to_detect", "breaker_time_to_recover") and \
                    check.observed.endswith(" s"):
                out[check.name.replace("breaker_", "breaker.") + "_s"] = float(
                    check.observed.split()[0])
    rate = attempts[attempts["phase"] == RATE_PHASE]
    if not rate.empty:
        limited = rate[(rate["status_code"] == 429) & rate["gap_s"].notna()]
        out["rate_limit.429s"] = int((rate["status_code"] == 429).sum())
        if not limited.empty:
            out["rate_limit.min_wait_over_retry_after_s"] = round(
                float((limited["gap_s"] - limited["retry_after"]).min()), 3)
    return out


__all__ = [
    "DEFAULT_FAULTS", "PROTECTION_PHASE", "RATE_PHASE", "PlannedRequest", "ResilienceParams",
    "ResilienceResult", "Segment", "breaker_detected_within", "breaker_recovered_within",
    "breaker_state_at", "label", "period_of", "plan_requests", "retry_after_honoured", "run",
    "study_metrics", "success_restored_after_recovery", "task_key",
]
