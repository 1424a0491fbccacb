"""Performance baselines: creation throughput, batch sync time, WebSocket fan-out, server RSS.

    result = await run(PerformanceParams(profiles=("lan", "wan"), repeats=3))
    result.figures        # one row per figure: median, min, max, and ratio to the noop baseline
    report = fill_report(result, output_dir=".")

Every figure is measured `repeats` times and given as a median with its min/max, and as a
ratio to a bare baseline measured in the same run next to it: `POST /api/v1/noop` on the same
server, through the same proxy, with the same client and concurrency. Ratios (lower is
better) cancel out most of what differs between machines, so they are what a stored
baseline (params/baselines/performance.json) keeps and what the regression check compares.

Methodology, against a noisy shared machine:
- each repeat pairs the measured operation with its noop twin run right next to it, in a
  seeded random order, and the ratio is taken per pair before the median;
- every connection is opened (warm-up) before the clock starts;
- the load generator's own CPU (and the server's) is measured per phase: a client near one
  full core is itself the bottleneck, and the report says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import math
import os
import platform
import random
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from syncbench.checks import subscribers_saw_every_event
from syncbench.history import History, OpHandle
from syncbench.profiles import load_profiles
from syncbench.report import Report
from syncbench.stack import Stack, StackConfig
from syncbench.studies.loadgen import PhaseResult, RssSampler, run_closed_loop
from syncbench.verdict import CheckResult, StudyChecks
from tasksync.client import BatchClient, HTTPClient, RetryPolicy, WebSocketClient
from tasksync.models import SyncItem, SyncTaskFields
from tasksync.server.config import SEEDED_BUGS

STUDY = "performance"
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_BASELINE = REPO_ROOT / "params" / "baselines" / "performance.json"
# The scenarios whose ratios the regression check gates. Tail percentiles (fanout_p90/p99)
# are reported but not gated: on a shared 2-core machine they swing more than any sane factor.
GATED_SCENARIOS = ("create", "batch", "fanout_p50", "rss")
# A load generator using this share of one core (or more) is likely the bottleneck itself.
CLIENT_BOTTLENECK_SHARE = 0.85
# Measurements see every failure: no retries hide one, and a retry would skew the timing.
NO_RETRY = RetryPolicy(max_attempts=1)
FIGURE_COLUMNS = (
    "figure",
    "scenario",
    "profile",
    "x",
    "unit",
    "value_median",
    "value_min",
    "value_max",
    "ratio_median",
    "ratio_min",
    "ratio_max",
    "repeats",
)


def _positive_ints(name: str, values: Sequence[int]) -> tuple[int, ...]:
    values = tuple(values)
    if not values or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
        raise ValueError(f"{name} must be a non-empty list of positive integers, got {values!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a value, got {values!r}")
    return values


@dataclass(frozen=True)
class PerformanceParams:
    """What the performance study measures, how often, and the targets it checks."""

    seed: int = 1
    seeded_bug: str = ""
    profiles: tuple[str, ...] = ("lan", "wan")
    repeats: int = 3
    workers: tuple[int, ...] = (1, 10)
    tasks_per_run: int = 1000
    slow_tasks_per_run: int = 50
    batch_sizes: tuple[int, ...] = (100, 1000, 10000)
    subscribers: tuple[int, ...] = (10, 100, 500)
    fanout_events: int = 20
    fanout_interval_s: float = 0.1
    noop_samples: int = 15
    sustained_s: float = 10.0
    sustained_workers: int = 4
    rss_interval_s: float = 0.25
    create_target_tasks: int = 1000
    create_target_workers: int = 10
    create_target_s: float = 30.0
    batch_target_size: int = 1000
    batch_target_s: float = 5.0
    target_profile: str = "lan"
    regression_ratio: float = 1.5
    baseline_path: str = ""
    phase_timeout_s: float = 120.0
    compare_direct: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if isinstance(self.profiles, str) or not self.profiles:
            raise ValueError(
                f"profiles must be a non-empty list of profile names, got {self.profiles!r}"
            )
        set_(self, "profiles", tuple(self.profiles))
        known = load_profiles()
        unknown = [p for p in self.profiles if p not in known]
        if unknown:
            raise ValueError(f"profiles: unknown profile(s) {unknown}; known: {sorted(known)}")
        if any(known[p].outage for p in self.profiles):
            raise ValueError("profiles: an outage profile cannot carry load; choose e.g. lan, wan")
        if len(set(self.profiles)) != len(self.profiles):
            raise ValueError(f"profiles must not repeat a name, got {self.profiles!r}")
        set_(self, "workers", _positive_ints("workers", self.workers))
        set_(self, "batch_sizes", _positive_ints("batch_sizes", self.batch_sizes))
        set_(self, "subscribers", _positive_ints("subscribers", self.subscribers))
        if max(self.batch_sizes) > 20_000:
            raise ValueError("batch_sizes: the server takes at most 20000 items per batch")
        for name in (
            "repeats",
            "tasks_per_run",
            "slow_tasks_per_run",
            "fanout_events",
            "noop_samples",
            "sustained_workers",
            "create_target_tasks",
            "create_target_workers",
            "batch_target_size",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name in (
            "sustained_s",
            "rss_interval_s",
            "create_target_s",
            "batch_target_s",
            "phase_timeout_s",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not self.fanout_interval_s >= 0:
            raise ValueError(f"fanout_interval_s must be >= 0, got {self.fanout_interval_s!r}")
        if not self.regression_ratio >= 1:
            raise ValueError(
                f"regression_ratio must be >= 1 (a factor), got {self.regression_ratio!r}"
            )
        if self.seeded_bug and self.seeded_bug not in SEEDED_BUGS:
            raise ValueError(
                f"seeded_bug must be empty or one of {sorted(SEEDED_BUGS)}, got {self.seeded_bug!r}"
            )
        if self.target_profile not in self.profiles:
            raise ValueError(
                f"target_profile {self.target_profile!r} must be one of profiles "
                f"{self.profiles}: the targets are checked on it"
            )
        if self.create_target_workers not in self.workers:
            raise ValueError(
                f"create_target_workers ({self.create_target_workers}) must be one "
                f"of workers {self.workers}: the creation target is checked on it"
            )

    def tasks_for(self, profile: str) -> int:
        """Tasks each creation repeat makes on `profile`: fewer on the slower profiles, whose
        closed loop is paced by round trips (1 worker on wan: ~12 creates/s)."""
        return self.tasks_per_run if profile == self.target_profile else self.slow_tasks_per_run

    @property
    def baseline_file(self) -> Path:
        """The stored baseline: `baseline_path` (relative to the repository) or the default."""
        if not self.baseline_path:
            return DEFAULT_BASELINE
        path = Path(self.baseline_path)
        return path if path.is_absolute() else REPO_ROOT / path

    def server_options(self) -> tuple[str, ...]:
        # The per-client token bucket stays in the middleware chain but is switched off:
        # the study measures the server's capacity, not the limiter's configured rate.
        options: tuple[str, ...] = ("--rate-limit", "0")
        if self.seeded_bug:
            options += ("--seeded-bug", self.seeded_bug)
        return options

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
            for f in fields(self)
        }


@dataclass
class PerformanceResult(StudyChecks):
    """The raw frames of a run, the figures derived from them, checks and metrics."""

    params: PerformanceParams
    operations: pd.DataFrame
    noop_latency: pd.DataFrame
    creation: pd.DataFrame
    batch: pd.DataFrame
    fanout_runs: pd.DataFrame
    deliveries: pd.DataFrame
    memory: pd.DataFrame
    figures: pd.DataFrame
    checks: list[CheckResult]
    metrics: dict[str, Any]
    machine: dict[str, Any]
    baseline: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    toxiproxy_version: str = ""

    def fanout_percentiles(self) -> pd.DataFrame:
        """Delivery latency percentiles per profile and subscriber count (median over repeats,
        with min/max): columns profile, subscribers, percentile, value, low, high."""
        rows = self.figures[self.figures["scenario"].str.startswith("fanout_p")]
        return pd.DataFrame(
            {
                "profile": rows["profile"],
                "subscribers": rows["x"].astype(int),
                "percentile": rows["scenario"].str.removeprefix("fanout_"),
                "value": rows["value_median"],
                "low": rows["value_min"],
                "high": rows["value_max"],
            }
        ).reset_index(drop=True)


# -- the machine and the stored baseline ------------------------------------------------------


def machine_description() -> dict[str, Any]:
    """What the figures were measured on: CPU count, Python, OS, architecture."""
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def baseline_figures(figures: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The gated figures of a run as the baseline stores them: ratio median/min/max, value."""
    gated = figures[figures["scenario"].isin(GATED_SCENARIOS)]
    return {
        row.figure: {
            "ratio": _round(row.ratio_median),
            "ratio_min": _round(row.ratio_min),
            "ratio_max": _round(row.ratio_max),
            "value": _round(row.value_median),
            "unit": row.unit,
            "repeats": int(row.repeats),
        }
        for row in gated.itertuples(index=False)
    }


def write_baseline(result: PerformanceResult, path: str | Path | None = None) -> Path:
    """Store this run's figures as the new baseline (default params/baselines/performance.json)."""
    target = Path(path) if path else result.params.baseline_file
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "study": STUDY,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": result.machine,
        "note": "ratios to POST /api/v1/noop measured in the same run (lower is better)",
        "parameters": result.params.to_dict(),
        "figures": baseline_figures(result.figures),
    }
    target.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return target


def load_baseline(path: str | Path) -> dict[str, Any] | None:
    """The stored baseline at `path`, or None when there is none."""
    source = Path(path)
    if not source.is_file():
        return None
    data = json.loads(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("figures"), dict):
        raise ValueError(f"{source} is not a performance baseline (no 'figures' mapping)")
    return data


# -- checks (pure) ------------------------------------------------------------------------------


def creation_target_met(
    creation: pd.DataFrame, *, profile: str, workers: int, tasks: int, seconds: float
) -> CheckResult:
    """Passes when `tasks` creates by `workers` workers take under `seconds` (median of repeats).

    A run that created another number of tasks per repeat is scaled to `tasks` by its
    throughput (the target is a rate: tasks / seconds).
    """
    name = f"creation target: {tasks} tasks by {workers} workers under {seconds:g} s ({profile})"
    rows = creation[
        (creation["kind"] == "create")
        & (creation["profile"] == profile)
        & (creation["workers"] == workers)
    ]
    expected = f"< {seconds:g} s (>= {tasks / seconds:.1f} creates/s)"
    if rows.empty:
        return CheckResult(
            name,
            False,
            "not measured",
            expected,
            f"no creation run with {workers} workers on {profile}",
        )
    per_task = [row.elapsed_s / row.requested for row in rows.itertuples() if row.requested]
    projected = statistics.median(per_task) * tasks
    failed = rows[rows["failed"] > 0]
    done = int(rows["requested"].iloc[0])
    scaled = "" if done == tasks else f", scaled from {done} per repeat"
    observed = (
        f"{projected:.2f} s (median of {len(rows)}{scaled}; "
        f"{tasks / projected if projected else math.inf:.0f} creates/s)"
    )
    passed = projected < seconds and failed.empty
    message = "" if failed.empty else f"{int(failed['failed'].sum())} creates failed"
    return CheckResult(
        name,
        bool(passed),
        observed,
        expected,
        message,
        counterexample=[] if passed else _records(rows),
    )


def batch_target_met(
    batch: pd.DataFrame, *, profile: str, size: int, seconds: float
) -> CheckResult:
    """Passes when a batch of `size` items syncs in under `seconds` (median of repeats).

    When `size` was not measured, the largest smaller batch is scaled up linearly (which
    over-estimates, since a batch has a fixed cost): the check stays on the safe side.
    """
    name = f"batch target: {size} items under {seconds:g} s ({profile})"
    expected = f"< {seconds:g} s"
    rows = batch[batch["profile"] == profile]
    exact = rows[rows["size"] == size]
    smaller = rows[rows["size"] < size]
    if not exact.empty:
        chosen, scale, how = exact, 1.0, ""
    elif not smaller.empty:
        measured = int(smaller["size"].max())
        chosen, scale = smaller[smaller["size"] == measured], size / measured
        how = f", scaled up from {measured} items"
    else:
        return CheckResult(
            name,
            False,
            "not measured",
            expected,
            f"no batch of {size} items or fewer was synced on {profile}",
        )
    projected = float(chosen["elapsed_s"].median()) * scale
    failed = chosen[chosen["ok"] != True]  # noqa: E712 - a column of bools
    passed = projected < seconds and failed.empty
    message = "" if failed.empty else f"{len(failed)} batch syncs failed"
    return CheckResult(
        name,
        bool(passed),
        f"{projected:.3f} s (median of {len(chosen)}{how})",
        expected,
        message,
        counterexample=[] if passed else _records(chosen),
    )


def no_regression_vs_baseline(
    current: Mapping[str, float],
    baseline: Mapping[str, Any] | None,
    *,
    max_ratio: float,
    machine: Mapping[str, Any] | None = None,
    source: str = "",
) -> CheckResult:
    """Passes when no figure's ratio-to-noop is more than `max_ratio` times its baseline's.

    `current` maps figure -> ratio (lower is better); `baseline` is a loaded baseline file.
    Figures only one side has are not compared (a smaller run measures fewer); the message
    says how many were. No baseline at all passes, saying so.
    """
    name = f"no regression vs stored baseline (ratio to noop within {max_ratio:g}x)"
    expected = f"every figure <= {max_ratio:g} x its baseline ratio"
    if baseline is None:
        return CheckResult(
            name,
            True,
            "no stored baseline",
            expected,
            f"nothing to compare: write one with write_baseline() ({source})",
        )
    stored = {
        k: v["ratio"] if isinstance(v, Mapping) else v
        for k, v in baseline.get("figures", {}).items()
    }
    shared = sorted(set(stored) & set(current))
    offenders = []
    for figure in shared:
        base, now = float(stored[figure]), float(current[figure])
        factor = now / base if base > 0 else math.inf
        if factor > max_ratio:
            offenders.append(
                {
                    "figure": figure,
                    "baseline_ratio": base,
                    "current_ratio": now,
                    "factor": round(factor, 3),
                }
            )
    offenders.sort(key=lambda row: -row["factor"])
    worst = max(
        (float(current[f]) / float(stored[f]) for f in shared if float(stored[f]) > 0), default=None
    )
    observed = f"{len(offenders)} of {len(shared)} figures regressed" + (
        f"; worst {worst:.2f}x" if worst is not None else ""
    )
    notes = [
        f"compared {len(shared)} figures ({len(set(current) - set(stored))} new, "
        f"{len(set(stored) - set(current))} not measured in this run)"
    ]
    base_machine = baseline.get("machine", {})
    if (
        machine
        and base_machine
        and (
            base_machine.get("cpu_count") != machine.get("cpu_count")
            or base_machine.get("python") != machine.get("python")
        )
    ):
        notes.append(
            f"baseline machine differs: {base_machine.get('cpu_count')} CPUs, Python "
            f"{base_machine.get('python')} (now {machine.get('cpu_count')} CPUs, "
            f"Python {machine.get('python')})"
        )
    return CheckResult(
        name, not offenders, observed, expected, "; ".join(notes), counterexample=offenders
    )


def all_operations_succeeded(operations: pd.DataFrame) -> CheckResult:
    """Passes when every recorded load operation completed `ok` (a failed op voids timing)."""
    bad = operations[operations["outcome"] != "ok"]
    observed = f"{len(bad)} of {len(operations)} not ok"
    columns = [
        c
        for c in ("op_id", "client", "operation", "outcome", "error", "latency_s")
        if c in bad.columns
    ]
    return CheckResult(
        "every load operation succeeded",
        bad.empty,
        observed,
        "0 not ok",
        counterexample=_records(bad[columns].head(10)),
    )


# -- figures (pure) -----------------------------------------------------------------------------


def _spread(values: Iterable[float]) -> tuple[float, float, float]:
    data = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not data:
        return math.nan, math.nan, math.nan
    return statistics.median(data), min(data), max(data)


def _figure(
    scenario: str,
    profile: str,
    x: int | None,
    label: str,
    unit: str,
    values: Iterable[float],
    ratios: Iterable[float],
) -> dict[str, Any]:
    values, ratios = list(values), list(ratios)
    v_med, v_min, v_max = _spread(values)
    r_med, r_min, r_max = _spread(ratios)
    name = f"{scenario}.{profile}" + (f".{label}" if label else "")
    return {
        "figure": name,
        "scenario": scenario,
        "profile": profile,
        "x": x,
        "unit": unit,
        "value_median": v_med,
        "value_min": v_min,
        "value_max": v_max,
        "ratio_median": r_med,
        "ratio_min": r_min,
        "ratio_max": r_max,
        "repeats": len(values),
    }


def compute_figures(
    creation: pd.DataFrame,
    batch: pd.DataFrame,
    fanout_runs: pd.DataFrame,
    memory_runs: pd.DataFrame,
) -> pd.DataFrame:
    """One row per figure (FIGURE_COLUMNS): median/min/max value and ratio to noop."""
    rows: list[dict[str, Any]] = []
    for (profile, workers), group in creation.groupby(["profile", "workers"], sort=False):
        paired = group.pivot(
            index="repeat", columns="kind", values=["elapsed_s", "throughput_per_s"]
        )
        creates = paired["throughput_per_s"]["create"]
        noops = paired["throughput_per_s"]["noop"]
        ratios = paired["elapsed_s"]["create"] / paired["elapsed_s"]["noop"]
        rows.append(
            _figure("create", profile, int(workers), f"w{workers}", "creates/s", creates, ratios)
        )
        rows.append(
            _figure(
                "noop", profile, int(workers), f"w{workers}", "noops/s", noops, [1.0] * len(noops)
            )
        )
    for (profile, size), group in batch.groupby(["profile", "size"], sort=False):
        rows.append(
            _figure(
                "batch",
                profile,
                int(size),
                f"n{size}",
                "s",
                group["elapsed_s"],
                group["elapsed_s"] * 1000 / group["noop_ms"],
            )
        )
    for (profile, subscribers), group in fanout_runs.groupby(
        ["profile", "subscribers"], sort=False
    ):
        for q in ("p50", "p90", "p99"):
            rows.append(
                _figure(
                    f"fanout_{q}",
                    profile,
                    int(subscribers),
                    f"s{subscribers}",
                    "ms",
                    group[f"{q}_ms"],
                    group[f"{q}_ms"] / group["noop_ms"],
                )
            )
    for profile, group in memory_runs.groupby("profile", sort=False):
        rows.append(
            _figure(
                "rss",
                profile,
                None,
                "",
                "MiB",
                group["rss_peak_mib"],
                group["rss_peak_mib"] / group["rss_before_mib"],
            )
        )
    return pd.DataFrame(rows, columns=list(FIGURE_COLUMNS))


def ratio_figures(
    figures: pd.DataFrame, scenarios: Sequence[str] = GATED_SCENARIOS
) -> dict[str, float]:
    """figure -> median ratio to noop, for the gated scenarios (what the baseline compares)."""
    gated = figures[figures["scenario"].isin(scenarios)]
    return {
        row.figure: float(row.ratio_median)
        for row in gated.itertuples(index=False)
        if not math.isnan(row.ratio_median)
    }


def noise_summary(figures: pd.DataFrame) -> dict[str, float]:
    """How noisy the repeats were: relative spread (max - min) / median of each ratio."""
    gated = figures[
        figures["scenario"].isin(("create", "batch", "fanout_p50")) & (figures["repeats"] > 1)
    ]
    spreads = ((gated["ratio_max"] - gated["ratio_min"]) / gated["ratio_median"]).dropna()
    if spreads.empty:
        return {}
    return {
        "noise_rel_spread_median": float(spreads.median()),
        "noise_rel_spread_max": float(spreads.max()),
    }


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records"))


def _round(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


# -- the workload -------------------------------------------------------------------------------


def task_contents(rng: random.Random, count: int, prefix: str) -> list[str]:
    """`count` seeded task texts (drawn before the load starts, so workers need no rng)."""
    verbs = ("write", "review", "fix", "plan", "test", "ship", "measure", "document")
    nouns = ("report", "release", "budget", "schema", "backlog", "dashboard", "invoice")
    return [
        f"{prefix} {rng.choice(verbs)} the {rng.choice(nouns)} #{rng.randrange(10**6)}"
        for _ in range(count)
    ]


def batch_items(rng: random.Random, size: int, prefix: str) -> list[SyncItem]:
    """`size` new-task batch items with seeded contents and unique change ids."""
    contents = task_contents(rng, size, prefix)
    priorities = ("low", "medium", "high")
    return [
        SyncItem(
            change_id=f"{prefix}:{n}",
            task_id=f"{prefix}-{n}",
            task=SyncTaskFields(content=contents[n], priority=rng.choice(priorities)),
        )
        for n in range(size)
    ]


class _Study:
    """One run's state: the stack, the history, the seeded rng, the frames being filled."""

    def __init__(self, params: PerformanceParams, stack: Stack) -> None:
        self.params = params
        self.stack = stack
        self.rng = random.Random(params.seed)
        self.history = History()
        self.pid = stack.server.pid if stack.server else None
        self.sampler = RssSampler(self.pid, params.rss_interval_s)
        self.noop_rows: list[dict[str, Any]] = []
        self.creation_rows: list[dict[str, Any]] = []
        self.batch_rows: list[dict[str, Any]] = []
        self.fanout_rows: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.subscriptions: dict[str, dict[str, int]] = {}
        self.memory_runs: list[dict[str, Any]] = []
        self.fanout_repos: list[str] = []
        self.ids = 0

    def _http(self, url: str, label: str) -> HTTPClient:
        self.ids += 1
        return HTTPClient(
            url,
            client_id=f"{label}-{self.ids}",
            retry=NO_RETRY,
            timeout=self.params.phase_timeout_s,
        )

    async def noop_latencies(self, client: HTTPClient, mode: str, count: int) -> list[float]:
        """`count` sequential noops (each recorded); their latencies in ms."""
        samples = []
        for n in range(count):
            start = time.perf_counter()
            async with self.history.record(client.client_id, "noop", phase="reference", mode=mode):
                await client.noop()
            samples.append((time.perf_counter() - start) * 1000)
            self.noop_rows.append({"mode": mode, "sample": n, "latency_ms": samples[-1]})
        return samples

    async def profile_reference(self, profile: str) -> None:
        """Sequential noop latencies under `profile` (what a single client pays per call)."""
        client = self._http(self.stack.url("load"), f"{profile}-ref")
        try:
            await client.noop()
            await self.noop_latencies(client, profile, self.params.noop_samples)
        finally:
            await client.aclose()

    # -- direct vs proxied ---------------------------------------------------------------

    async def direct_vs_proxied(self) -> None:
        print("performance: noop latency direct vs through Toxiproxy", flush=True)
        direct = self._http(self.stack.server_url, "direct")
        proxied = self._http(self.stack.url("load"), "proxied")
        try:
            await direct.noop()
            await proxied.noop()
            for _ in range(self.params.noop_samples):  # interleaved: both see the same noise
                await self.noop_latencies(direct, "direct", 1)
                await self.noop_latencies(proxied, "proxied", 1)
        finally:
            await direct.aclose()
            await proxied.aclose()

    # -- task creation --------------------------------------------------------------------

    async def creation(self, profile: str) -> None:
        p = self.params
        for workers in p.workers:
            print(
                f"performance: {profile}: create {p.tasks_for(profile)} tasks with {workers} "
                f"workers x {p.repeats}",
                flush=True,
            )
            clients = [
                self._http(self.stack.url("load"), f"{profile}-w{workers}-c{i}")
                for i in range(workers)
            ]
            try:
                await asyncio.gather(*(client.noop() for client in clients))  # warm-up
                for repeat in range(p.repeats):
                    order = self.rng.sample(["noop", "create"], 2)
                    for kind in order:
                        phase = await self._creation_phase(profile, workers, repeat, kind, clients)
                        self.creation_rows.append(
                            {
                                "profile": profile,
                                "workers": workers,
                                "repeat": repeat,
                                "kind": kind,
                                "order": order.index(kind),
                                **_phase_row(phase),
                            }
                        )
            finally:
                await asyncio.gather(*(client.aclose() for client in clients))

    async def _creation_phase(
        self, profile: str, workers: int, repeat: int, kind: str, clients: list[HTTPClient]
    ) -> PhaseResult:
        p = self.params
        self.sampler.phase = f"{profile}: create"
        repository = f"create-{profile}-w{workers}"
        prefix = f"{profile}-w{workers}-r{repeat}"
        total = p.tasks_for(profile)
        contents = task_contents(self.rng, total, prefix) if kind == "create" else []

        async def create(client: HTTPClient, _worker: int, n: int, op: OpHandle) -> None:
            task = await client.create_task(repository, contents[n], id=f"{prefix}-{n}")
            op.note(task_id=task.id, version=task.version)

        async def noop(client: HTTPClient, _worker: int, _n: int, _op: OpHandle) -> None:
            await client.noop()

        return await run_closed_loop(
            self.history,
            clients,
            total,
            create if kind == "create" else noop,
            name="create" if kind == "create" else "noop",
            labels={"phase": "creation", "profile": profile, "workers": workers, "repeat": repeat},
            deadline_s=p.phase_timeout_s,
            server_pid=self.pid,
        )

    # -- batch sync -----------------------------------------------------------------------

    async def batch(self, profile: str) -> None:
        p = self.params
        self.sampler.phase = f"{profile}: batch"
        reference = self._http(self.stack.url("load"), f"{profile}-batch-ref")
        self.ids += 1
        client = BatchClient(
            self.stack.url("load"),
            client_id=f"{profile}-batch-{self.ids}",
            retry=NO_RETRY,
            timeout=p.phase_timeout_s,
        )
        try:
            await reference.noop()
            for size in p.batch_sizes:
                print(f"performance: {profile}: batch of {size} items x {p.repeats}", flush=True)
                for repeat in range(p.repeats):
                    noop_ms = statistics.median(
                        await self.noop_latencies(reference, f"{profile}-batch", p.noop_samples)
                    )
                    prefix = f"{profile}-n{size}-r{repeat}"
                    items = batch_items(self.rng, size, prefix)
                    repository = f"batch-{prefix}"
                    created = 0
                    start = time.perf_counter()
                    async with self.history.record(
                        client.client_id,
                        "batch_sync",
                        phase="batch",
                        profile=profile,
                        size=size,
                        repeat=repeat,
                    ) as op:
                        response = await client.batch_sync(repository, items)
                        created = sum(r.outcome == "created" for r in response.results)
                        op.note(seq=response.cursor)
                    elapsed = time.perf_counter() - start
                    self.batch_rows.append(
                        {
                            "profile": profile,
                            "size": size,
                            "repeat": repeat,
                            "elapsed_s": elapsed,
                            "noop_ms": noop_ms,
                            "ratio": elapsed * 1000 / noop_ms,
                            "created": created,
                            "ok": op.outcome == "ok" and created == size,
                        }
                    )
        finally:
            await reference.aclose()
            await client.aclose()

    # -- WebSocket fan-out ---------------------------------------------------------------

    async def fanout(self, profile: str) -> None:
        p = self.params
        self.sampler.phase = f"{profile}: fan-out"
        writer = self._http(self.stack.url("load"), f"{profile}-fanout-writer")
        try:
            await writer.noop()
            for subscribers in p.subscribers:
                print(
                    f"performance: {profile}: fan-out to {subscribers} subscribers x {p.repeats}",
                    flush=True,
                )
                for repeat in range(p.repeats):
                    await self._fanout_run(profile, subscribers, repeat, writer)
        finally:
            await writer.aclose()

    async def _fanout_run(self, profile: str, count: int, repeat: int, writer: HTTPClient) -> None:
        p = self.params
        repository = f"fanout-{profile}-s{count}-r{repeat}"
        self.fanout_repos.append(repository)
        noop_ms = statistics.median(
            await self.noop_latencies(writer, f"{profile}-fanout", p.noop_samples)
        )
        received: list[dict[str, Any]] = []
        expected = count * p.fanout_events
        all_in = asyncio.Event()

        def handler(name: str):  # one per subscriber, so each row names its receiver
            def on_event(event: Any) -> None:
                received.append(
                    {
                        "profile": profile,
                        "subscribers": count,
                        "repeat": repeat,
                        "subscriber": name,
                        "repository": event.event.repository,
                        "seq": event.event.seq,
                        "received_time": event.received_at,
                        "latency_ms": event.delivery_latency * 1000,
                    }
                )
                if len(received) >= expected:
                    all_in.set()

            return on_event

        names = [f"{repository}-sub{i}" for i in range(count)]
        feeds = [
            WebSocketClient(
                self.stack.ws_url("load"),
                {repository: 0},
                client_id=name,
                on_event=handler(name),
                open_timeout=p.phase_timeout_s,
            )
            for name in names
        ]
        gate = asyncio.Semaphore(50)  # opening hundreds at once only queues in the backlog

        async def connect(feed: WebSocketClient) -> None:
            async with gate:
                await feed.connect(timeout=p.phase_timeout_s)

        try:
            start = time.perf_counter()
            await asyncio.gather(*(connect(feed) for feed in feeds))
            connect_s = time.perf_counter() - start
            for name in names:
                self.subscriptions[name] = {repository: 0}
            contents = task_contents(self.rng, p.fanout_events, repository)
            for n, content in enumerate(contents):
                async with self.history.record(
                    writer.client_id,
                    "create",
                    phase="fanout",
                    profile=profile,
                    subscribers=count,
                    repeat=repeat,
                ) as op:
                    task = await writer.create_task(repository, content, id=f"{repository}-{n}")
                    op.note(task_id=task.id, version=task.version)
                if p.fanout_interval_s:
                    await asyncio.sleep(p.fanout_interval_s)
            with contextlib.suppress(TimeoutError):  # a shortfall is the deliveries check's
                await asyncio.wait_for(all_in.wait(), p.phase_timeout_s)
        finally:
            await asyncio.gather(*(feed.close() for feed in feeds))
        latencies = [row["latency_ms"] for row in received]
        self.deliveries.extend(received)
        self.fanout_rows.append(
            {
                "profile": profile,
                "subscribers": count,
                "repeat": repeat,
                "events": p.fanout_events,
                "expected": expected,
                "delivered": len(received),
                "connect_s": connect_s,
                "noop_ms": noop_ms,
                **{f"{q}_ms": _percentile(latencies, float(q[1:])) for q in ("p50", "p90", "p99")},
                "max_ms": max(latencies, default=math.nan),
            }
        )

    # -- sustained load, memory -----------------------------------------------------------

    async def sustained(self, profile: str) -> None:
        p = self.params
        print(
            f"performance: {profile}: sustained creates for {p.sustained_s:g} s, "
            f"{p.sustained_workers} workers",
            flush=True,
        )
        clients = [
            self._http(self.stack.url("load"), f"{profile}-sustained-c{i}")
            for i in range(p.sustained_workers)
        ]
        repository = f"sustained-{profile}"
        # Enough texts for any rate this machine could reach; the clock ends the phase.
        cap = int(p.sustained_s * 5000) + 1
        salt = self.rng.randrange(10**9)
        try:
            await asyncio.gather(*(client.noop() for client in clients))
            self.sampler.phase = f"{profile}: sustained"
            before = self.sampler.sample() or math.nan
            samples_from = len(self.sampler.samples)
            stop_at = time.monotonic() + p.sustained_s

            async def create(client: HTTPClient, _worker: int, n: int, op: OpHandle) -> None:
                task = await client.create_task(
                    repository, f"sustained {salt} #{n}", id=f"{repository}-{n}"
                )
                op.note(task_id=task.id, version=task.version)

            phase = await run_closed_loop(
                self.history,
                clients,
                cap,
                create,
                name="create",
                labels={"phase": "sustained", "profile": profile},
                deadline_s=p.sustained_s + p.phase_timeout_s,
                server_pid=self.pid,
                stop_at=stop_at,
            )
            after = self.sampler.sample() or math.nan
            during = [s[1] for s in self.sampler.samples[samples_from:]]
            self.memory_runs.append(
                {
                    "profile": profile,
                    "rss_before_mib": before,
                    "rss_after_mib": after,
                    "rss_peak_mib": max([before, after, *during]),
                    "creates": phase.ok,
                    **_phase_row(phase),
                }
            )
        finally:
            await asyncio.gather(*(client.aclose() for client in clients))


def _phase_row(phase: PhaseResult) -> dict[str, Any]:
    return {
        "requested": phase.requested,
        "ok_count": phase.ok,
        "failed": phase.failed,
        "elapsed_s": phase.elapsed_s,
        "throughput_per_s": phase.throughput_per_s,
        "client_cpu_share": phase.client_cpu_share,
        "server_cpu_share": phase.server_cpu_share,
        "timed_out": phase.timed_out,
    }


async def run(params: PerformanceParams | None = None) -> PerformanceResult:
    """Run the whole study on a fresh embedded stack and return its frames, checks, metrics."""
    params = params or PerformanceParams()
    config = StackConfig(groups=("load",), server_options=params.server_options())
    async with Stack(config) as stack:
        study = _Study(params, stack)
        study.sampler.start()
        try:
            if params.compare_direct:
                await study.direct_vs_proxied()
            for profile in params.profiles:
                study.sampler.phase = f"{profile}: reference"
                await stack.apply_profile("load", profile)
                try:
                    await study.profile_reference(profile)
                    await study.creation(profile)
                    await study.batch(profile)
                    await study.fanout(profile)
                    await study.sustained(profile)
                finally:
                    await stack.clear_profiles("load")
        finally:
            await study.sampler.stop()
        change_logs = {
            repo: [e["seq"] for e in await stack.change_log(repo)] for repo in study.fanout_repos
        }
        toxiproxy_version = stack.toxiproxy_info.version if stack.toxiproxy_info else ""
    return _result(params, study, change_logs, toxiproxy_version)


def _result(
    params: PerformanceParams,
    study: _Study,
    change_logs: dict[str, list[int]],
    toxiproxy_version: str,
) -> PerformanceResult:
    operations = study.history.to_frame()
    creation = pd.DataFrame(study.creation_rows)
    batch = pd.DataFrame(study.batch_rows)
    fanout_runs = pd.DataFrame(study.fanout_rows)
    deliveries = pd.DataFrame(
        study.deliveries,
        columns=[
            "profile",
            "subscribers",
            "repeat",
            "subscriber",
            "repository",
            "seq",
            "received_time",
            "latency_ms",
        ],
    )
    memory_runs = pd.DataFrame(study.memory_runs)
    memory = pd.DataFrame(study.sampler.samples, columns=["time_s", "rss_mib", "phase"])
    figures = compute_figures(creation, batch, fanout_runs, memory_runs)
    machine = machine_description()
    baseline = load_baseline(params.baseline_file)
    checks = [
        creation_target_met(
            creation,
            profile=params.target_profile,
            workers=params.create_target_workers,
            tasks=params.create_target_tasks,
            seconds=params.create_target_s,
        ),
        batch_target_met(
            batch,
            profile=params.target_profile,
            size=params.batch_target_size,
            seconds=params.batch_target_s,
        ),
        no_regression_vs_baseline(
            ratio_figures(figures),
            baseline,
            max_ratio=params.regression_ratio,
            machine=machine,
            source=str(params.baseline_file),
        ),
        all_operations_succeeded(operations),
        subscribers_saw_every_event(deliveries, change_logs, subscriptions=study.subscriptions),
    ]
    noop = pd.DataFrame(study.noop_rows, columns=["mode", "sample", "latency_ms"])
    metrics, notes = _metrics(params, noop, creation, batch, fanout_runs, memory_runs, figures)
    return PerformanceResult(
        params=params,
        operations=operations,
        noop_latency=noop,
        creation=creation,
        batch=batch,
        fanout_runs=fanout_runs,
        deliveries=deliveries,
        memory=memory,
        figures=figures,
        checks=checks,
        metrics=metrics,
        machine=machine,
        baseline=baseline,
        notes=notes,
        toxiproxy_version=toxiproxy_version,
    )


def _metrics(
    params: PerformanceParams,
    noop: pd.DataFrame,
    creation: pd.DataFrame,
    batch: pd.DataFrame,
    fanout_runs: pd.DataFrame,
    memory_runs: pd.DataFrame,
    figures: pd.DataFrame,
) -> tuple[dict[str, Any], list[str]]:
    metrics: dict[str, Any] = {}
    notes: list[str] = []
    medians = noop.groupby("mode")["latency_ms"].median() if not noop.empty else pd.Series()
    if "direct" in medians and "proxied" in medians:
        metrics["noop_direct_ms"] = float(medians["direct"])
        metrics["noop_proxied_ms"] = float(medians["proxied"])
        metrics["toxiproxy_added_ms"] = float(medians["proxied"] - medians["direct"])
    for profile in params.profiles:
        if profile in medians:
            metrics[f"noop_{profile}_ms"] = float(medians[profile])
    for row in figures.itertuples(index=False):
        if row.scenario in ("create", "batch", "fanout_p50", "fanout_p99", "rss"):
            metrics[f"{row.figure}.value"] = _round(row.value_median)
            metrics[f"{row.figure}.ratio"] = _round(row.ratio_median)
    metrics.update(noise_summary(figures))
    shares = [
        frame["client_cpu_share"].max()
        for frame in (creation, memory_runs)
        if not frame.empty and "client_cpu_share" in frame
    ]
    if shares:
        metrics["client_cpu_share_max"] = float(max(shares))
        if max(shares) >= CLIENT_BOTTLENECK_SHARE:
            worst = (
                creation.loc[creation["client_cpu_share"].idxmax()] if not creation.empty else None
            )
            where = (
                f" ({worst['kind']} on {worst['profile']} with {worst['workers']} workers)"
                if worst is not None
                else ""
            )
            notes.append(
                f"the load generator used {max(shares):.0%} of a core{where}: at that "
                "load the client, not the server, may be the bottleneck"
            )
    if not creation.empty:
        metrics["server_cpu_share_max"] = float(creation["server_cpu_share"].max())
    if not memory_runs.empty:
        metrics["rss_peak_mib"] = float(memory_runs["rss_peak_mib"].max())
    return metrics, notes


def fill_report(result: PerformanceResult, output_dir: str | Path = ".") -> Report:
    """A Report with this run's checks, headline metrics, raw frames and environment."""
    report = Report(
        study=STUDY,
        output_dir=output_dir,
        parameters=result.params.to_dict(),
        seed=result.params.seed,
        environment={
            "toxiproxy_version": result.toxiproxy_version,
            "machine": result.machine,
            "baseline": str(result.params.baseline_file),
            "baseline_machine": (result.baseline or {}).get("machine"),
            "retry_policy": repr(NO_RETRY),
            "notes": result.notes,
        },
    )
    for check in result.checks:
        report.check(check)
    for name, value in result.metrics.items():
        unit = "ms" if name.endswith("_ms") else "MiB" if name.endswith("_mib") else ""
        report.metric(name, value, unit=unit)
    for name in (
        "figures",
        "creation",
        "batch",
        "fanout_runs",
        "deliveries",
        "memory",
        "noop_latency",
        "operations",
    ):
        report.data(name, getattr(result, name))
    return report


__all__ = [
    "DEFAULT_BASELINE",
    "GATED_SCENARIOS",
    "PerformanceParams",
    "PerformanceResult",
    "all_operations_succeeded",
    "baseline_figures",
    "batch_items",
    "batch_target_met",
    "compute_figures",
    "creation_target_met",
    "fill_report",
    "load_baseline",
    "machine_description",
    "no_regression_vs_baseline",
    "noise_summary",
    "ratio_figures",
    "run",
    "task_contents",
    "write_baseline",
]
