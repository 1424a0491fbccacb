"""From what the phases saw to the result: frames, metrics (with units) and checks.

Linear in the operations: rows are labelled by bisection over the segments, attempts are
grouped once, the breaker's state at each attempt is found by bisection over its log.
"""

from __future__ import annotations

import bisect
from typing import Any

import pandas as pd

from syncbench import stats
from syncbench.checks import no_lost_acknowledged_writes, subscribers_saw_every_event
from syncbench.metric import COUNT, MS, RATIO, Metrics, S
from syncbench.nemesis import PROCESS, fault_windows
from syncbench.paths import paths_reached
from syncbench.studies.resilience import checks
from syncbench.studies.resilience.faults import STORAGE
from syncbench.studies.resilience.params import ResilienceParams
from syncbench.studies.resilience.paths import resilience_paths
from syncbench.studies.resilience.phases import Observed
from syncbench.studies.resilience.result import ResilienceResult, latency_percentiles
from syncbench.studies.resilience.timeline import (
    DURING,
    RATE_PHASE,
    Segment,
    faults_met_by_requests,
    label,
    segments_from_windows,
)
from syncbench.studies.resilience.workload import REPOSITORY, task_key
from syncbench.verdict import CheckResult
from tasksync.client import Attempt

STUDY = "resilience"
BREAKER_COLUMNS = ["time", "from", "to", "state", "reason", "at_unix"]
DELIVERY_COLUMNS = ["subscriber", "repository", "seq", "received_time", "replay", "connection",
                    "latency_ms"]


def attempts_frame(rows: list[dict[str, Any]], segments: list[Segment],
                   grace: float) -> pd.DataFrame:
    """One row per HTTP attempt (Attempt fields, op_id) with phase, period, gap_s (to the
    next attempt of the same call), duration_ms and time."""
    frame = pd.DataFrame(rows, columns=[*Attempt.__dataclass_fields__, "op_id"])
    if frame.empty:
        return frame.assign(phase=[], period=[], gap_s=[], duration_ms=[], time=[])
    frame = label(frame, "started_at", segments, grace)
    frame = frame.sort_values(["call_id", "attempt"], kind="stable")
    next_start = frame.groupby("call_id")["started_monotonic"].shift(-1)
    frame["gap_s"] = next_start - frame["ended_monotonic"]
    frame = frame.sort_values("started_monotonic", kind="stable").reset_index(drop=True)
    frame["duration_ms"] = (frame["ended_monotonic"] - frame["started_monotonic"]) * 1000
    frame["time"] = pd.to_datetime(frame["started_at"], unit="s", utc=True)
    for column, dtype in (("status_code", "Int64"), ("op_id", "Int64"),
                          ("retry_after", "float64")):
        frame[column] = frame[column].astype(dtype)
    return frame


def breaker_frame(transitions: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{
        "time": pd.to_datetime(t["at_unix"], unit="s", utc=True), "from": t["from"],
        "to": t["to"], "state": t["to"], "reason": t["reason"], "at_unix": t["at_unix"]}
        for t in transitions], columns=BREAKER_COLUMNS)


def breaker_state_at(transitions: pd.DataFrame, times: pd.Series) -> pd.Series:
    """The breaker state ("closed" before any transition) at each unix time in `times`."""
    ordered = transitions.sort_values("at_unix", kind="stable")
    at = ordered["at_unix"].astype("float64").tolist()
    states = ordered["state"].tolist()
    found = [bisect.bisect_right(at, t) for t in times]
    return pd.Series([states[i - 1] if i else "closed" for i in found], index=times.index)


def _phase_metrics(metrics: Metrics, ops: pd.DataFrame, phases: list[str]) -> None:
    by_phase = {phase: group for phase, group in ops.groupby("phase", sort=False)}
    for phase in phases:
        group = by_phase.get(phase)
        if group is None:
            continue
        during = group[group["period"] == DURING]
        if during.empty:
            continue
        metrics.add(f"{phase}.success_rate_during",
                    round(float((during["outcome"] == "ok").mean()), 4), RATIO)
        tried = during["attempts"].dropna()
        metrics.add(f"{phase}.attempts_per_request",
                    round(float(tried.mean()), 3) if len(tried) else None, COUNT)
        latency = during["latency_ms"].dropna()
        if not latency.empty:
            metrics.add(f"{phase}.p50_latency_ms", round(stats.percentile(latency, 50), 1), MS)
            metrics.add(f"{phase}.p99_latency_ms", round(stats.percentile(latency, 99), 1), MS)
        if "arg_size" in group:
            large = group[group["arg_size"].notna()]["latency_ms"].dropna()
            if not large.empty:
                metrics.add(f"{phase}.large_task_latency_ms", round(float(large.iloc[0]), 1), MS)


def _breaker_metrics(metrics: Metrics, attempts: pd.DataFrame, breaker: pd.DataFrame,
                     detect: float | None, recover: float | None) -> None:
    states = breaker_state_at(breaker, attempts["started_at"])
    failed_503 = attempts["status_code"] == 503
    fast = attempts[failed_503 & (states == "open")]
    slow = attempts[failed_503 & (states != "open")]
    metrics.add("breaker.open_503s", len(fast), COUNT)
    metrics.add("breaker.storage_503s", len(slow), COUNT)
    if not fast.empty:
        metrics.add("breaker.open_503_median_ms", round(stats.median(fast["duration_ms"]), 2), MS)
    if not slow.empty:
        metrics.add("breaker.storage_503_median_ms", round(stats.median(slow["duration_ms"]), 2),
                    MS)
    metrics.add("breaker.half_open_trials", int((breaker["to"] == "half_open").sum()), COUNT)
    metrics.add("breaker.transitions", len(breaker), COUNT)
    if detect is not None:
        metrics.add("breaker.time_to_detect_s", round(detect, 3), S)
    if recover is not None:
        metrics.add("breaker.time_to_recover_s", round(recover, 3), S)


def _unix(value: pd.Timestamp) -> float:
    return float(value.timestamp())


def analyse(params: ResilienceParams, observed: Observed) -> ResilienceResult:
    """The result of a run: frames, metrics and checks from what the phases saw."""
    history = observed.recorder.history
    grace = params.recovery_grace_seconds
    windows = fault_windows(history)
    segments = segments_from_windows(windows, params.lead_seconds)
    fault_phases = [s.phase for s in segments]
    if observed.rate_started is not None:
        segments.append(Segment(RATE_PHASE, observed.rate_started))
    frame = history.to_frame()
    ops = label(frame[frame["client"] != PROCESS].reset_index(drop=True), "invoke_time",
                segments, grace)
    attempts = attempts_frame(observed.recorder.attempts, segments, grace)
    breaker = breaker_frame(observed.transitions)
    deliveries = pd.DataFrame(observed.deliveries, columns=DELIVERY_COLUMNS)
    deliveries["time"] = pd.to_datetime(deliveries["received_time"].astype("float64"),
                                        unit="s", utc=True)
    websocket = pd.DataFrame(observed.subscribers)

    metrics = Metrics()
    metrics.add("operations", len(ops), COUNT)
    metrics.add("attempts", len(attempts), COUNT)
    _phase_metrics(metrics, ops, fault_phases)
    if not websocket.empty:
        for column in ("reconnects", "replayed", "events", "duplicates_dropped",
                       "heartbeat_timeouts", "connect_failures"):
            metrics.add(f"ws.{column}", int(websocket[column].sum()), COUNT)

    found: list[CheckResult] = [
        no_lost_acknowledged_writes(history, observed.final_tasks),
        checks.duplicates_from_retried_creates(history, observed.final_tasks, task_key),
    ]
    faulted = ops[ops["phase"].isin(fault_phases)]
    if fault_phases:
        found.append(checks.success_restored_after_recovery(
            faulted, faults_met_by_requests(ops, segments)))
    storage = windows[windows["fault"] == STORAGE]
    if not storage.empty or observed.transitions:
        found.append(checks.breaker_moved_by_the_rules(observed.transitions))
    if params.ws_clients and observed.subscribers:
        found.append(subscribers_saw_every_event(
            deliveries[["subscriber", "repository", "seq", "received_time"]],
            {REPOSITORY: [event["seq"] for event in observed.change_log]},
            subscriptions={row["subscriber"]: {REPOSITORY: 0} for row in observed.subscribers}))
    if not storage.empty:
        first = storage.iloc[0]
        start, end = _unix(first["start"]), _unix(first["end"])
        times = attempts["started_at"] if not attempts.empty else pd.Series(dtype=float)
        answered = int(((times >= start) & (times < end)
                        & attempts.get("status_code", pd.Series(dtype="Int64")).notna()).sum())
        found.append(checks.breaker_detected_within(
            observed.transitions, start, params.max_detect_seconds, answered=answered,
            threshold=params.breaker_threshold))
        found.append(checks.breaker_recovered_within(
            observed.transitions, end, params.max_recover_seconds, fault_start=start))
        if not attempts.empty:
            opened = checks.time_to_open(observed.transitions, start)
            _breaker_metrics(metrics, attempts, breaker, opened,
                             checks.time_to_close(observed.transitions, end)
                             if opened is not None else None)
    if observed.rate_started is not None:
        rate = attempts[attempts["phase"] == RATE_PHASE] if not attempts.empty else attempts
        found.append(checks.retry_after_honoured(rate))
        if not rate.empty:
            metrics.add("rate_limit.429s", int((rate["status_code"] == 429).sum()), COUNT)
            limited = rate[(rate["status_code"] == 429) & rate["gap_s"].notna()]
            if not limited.empty:
                metrics.add("rate_limit.min_wait_over_retry_after_s", round(
                    float((limited["gap_s"] - limited["retry_after"]).min()), 3), S)

    result = ResilienceResult(
        study=STUDY, params=params, checks=found, metrics=metrics,
        frames={"operations": ops, "attempts": attempts, "windows": windows,
                "breaker": breaker, "deliveries": deliveries, "websocket": websocket,
                "latency_percentiles": latency_percentiles(ops)},
        history=history, schedule=observed.played, environment=dict(observed.environment),
        started=observed.started, ended=observed.ended)
    result.checks.append(paths_reached(result, resilience_paths(params, not storage.empty)))
    return result


__all__ = ["analyse", "attempts_frame", "breaker_frame", "breaker_state_at"]
