"""The MCP study's checks and tables, from the History, every attempt and the server's tasks.

    no_duplicate_tasks        each create's idempotency key made at most one task (the
                              change log's creations)
    acknowledged_writes_kept  every answered create is there, every task ends at (or past)
                              the last version its writer was told, with that write's content
    every_call_answered       every call was answered (no unanswered call, no tool error:
                              a retried update must replay, never meet its own write as 412)
    sessions_recovered        after each window every client completed a call within recover_s
    errors_only_under_faults  every failed attempt began in a window (plus grace_s)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from syncbench.history import FAIL, INFO, OK, History
from syncbench.paths import DeclaredPath
from syncbench.studies.mcp.params import McpParams
from syncbench.verdict import CheckResult

FAILED_OUTCOMES = ("timeout", "transport_error", "retried_status")
KIND_OF_FAULT = {"reset_peer": "resets", "limit_data": "cut_responses", "offline": "outage",
                 "partition": "silence", "restart": "server_restart"}


def fault_name(window: Any) -> str:
    """The study's name for a window (its schedule choice), from its kind and label."""
    if window.fault == "network":
        return next((name for toxic, name in KIND_OF_FAULT.items()
                     if toxic in str(window.profile)), str(window.profile))
    return KIND_OF_FAULT.get(str(window.fault), str(window.fault))


def attempts_frame(attempts: list[dict[str, Any]], windows: pd.DataFrame,
                   grace_s: float) -> pd.DataFrame:
    """Every attempt with UTC times and the fault window it met (or "")."""
    frame = pd.DataFrame(attempts, columns=["client", "op_id", "tool", "attempt", "session",
                                            "started", "ended", "outcome", "error"])
    frame["started"] = pd.to_datetime(frame["started"], unit="s", utc=True)
    frame["ended"] = pd.to_datetime(frame["ended"], unit="s", utc=True)
    frame["latency_ms"] = (frame["ended"] - frame["started"]).dt.total_seconds() * 1000
    frame["fault"] = [_window_at(windows, start, end, grace_s)
                      for start, end in zip(frame["started"], frame["ended"], strict=True)]
    return frame


def _window_at(windows: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
               grace_s: float) -> str:
    """The window an attempt met: the one on (or in its grace after) when the attempt
    began, the latest if several; else the first one it ran into. An attempt that began
    under one window and failed under the next is the first one's doing."""
    grace = pd.Timedelta(seconds=grace_s)
    on = [window for window in windows.itertuples(index=False)
          if window.began <= start <= window.end + grace]
    if on:
        return fault_name(max(on, key=lambda window: window.began))
    into = [window for window in windows.itertuples(index=False)
            if start < window.began <= end]
    return fault_name(min(into, key=lambda window: window.began)) if into else ""


def outcomes_by_fault(attempts: pd.DataFrame) -> pd.DataFrame:
    """Attempts by outcome under each fault (and outside any), with the sessions begun."""
    if attempts.empty:
        return pd.DataFrame(columns=["fault", "outcome", "attempts"])
    labelled = attempts.assign(fault=attempts["fault"].replace("", "no fault"))
    return (labelled.groupby(["fault", "outcome"]).size().rename("attempts").reset_index())


def no_duplicate_tasks(history: History, log: list[dict]) -> CheckResult:
    """From the change log's creations, not the tasks' current content: an update replaces
    the content, and would hide the acknowledged copy of a key created twice."""
    keys = {op.args["key"] for op in history if op.operation == "create_task"}
    made: dict[str, list[str]] = {}
    for event in log:
        content = (event.get("task") or {}).get("content")
        if event.get("type") == "task_created" and content in keys:
            made.setdefault(content, []).append(event["task_id"])
    twice = [{"key": key, "task_ids": ids} for key, ids in made.items() if len(ids) > 1]
    return CheckResult.from_counterexample(
        "no_duplicate_tasks", twice, observed=f"{len(twice)} keys made more than one task of "
        f"{len(made)}", expected="0", message="a create retried under its idempotency key is "
        "applied once")


def acknowledged_writes_kept(history: History, tasks: dict[str, dict]) -> CheckResult:
    lost: list[dict[str, Any]] = []
    last: dict[str, Any] = {}  # task id -> the last write to it (any outcome)
    acknowledged = 0
    for op in history:
        if op.operation not in ("create_task", "update_task"):
            continue
        task_id = op.task_id if op.operation == "create_task" else op.args.get("task_id")
        if op.outcome == OK:
            acknowledged += 1
            task = tasks.get(task_id or "")
            if task is None or task["version"] < (op.version or 0):
                lost.append({**op.to_dict(), "server": task})
        if task_id:
            last[task_id] = op
    for task_id, op in last.items():
        task = tasks.get(task_id)
        if op.outcome == OK and task is not None and task["content"] != op.args["content"]:
            lost.append({**op.to_dict(), "server": task})
    return CheckResult.from_counterexample(
        "acknowledged_writes_kept", lost[:10], observed=f"{len(lost)} lost of {acknowledged} "
        "acknowledged", expected="0", message="every answered write is on the server")


def every_call_answered(history: History) -> CheckResult:
    calls = [op for op in history if op.client.startswith("mcp-")]
    unanswered = [op.to_dict() for op in calls if op.outcome in (FAIL, INFO)]
    return CheckResult.from_counterexample(
        "every_call_answered", unanswered[:10],
        observed=f"{len(unanswered)} of {len(calls)} calls unanswered or refused",
        expected="0", message="each call retried through the faults until answered")


def recovery(attempts: pd.DataFrame, windows: pd.DataFrame, clients: list[str],
             recover_s: float) -> tuple[CheckResult, pd.DataFrame]:
    """Seconds from each window's end to each client's next completed call."""
    rows = []
    answered = attempts[attempts["outcome"] == "ok"]
    for window in windows.itertuples(index=False):
        for client in clients:
            after = answered[(answered["client"] == client) & (answered["ended"] >= window.end)]
            seconds = ((after["ended"].min() - window.end).total_seconds()
                       if not after.empty else None)
            rows.append({"fault_id": window.fault_id, "fault": fault_name(window),
                         "client": client, "recovered_after_s": seconds})
    frame = pd.DataFrame(rows, columns=["fault_id", "fault", "client", "recovered_after_s"])
    late = frame[frame["recovered_after_s"].isna() | (frame["recovered_after_s"] > recover_s)]
    if windows.empty:
        return CheckResult.not_reached("sessions_recovered", "no fault window played"), frame
    return CheckResult.from_counterexample(
        "sessions_recovered", late.to_dict(orient="records")[:10],
        observed=f"{len(late)} of {len(frame)} (window, client) pairs late or never",
        expected=f"every client answered within {recover_s:g} s of each window's end",
        message="sessions re-initialised and calls answered after every fault"), frame


def errors_only_under_faults(attempts: pd.DataFrame) -> CheckResult:
    stray = attempts[attempts["outcome"].isin(FAILED_OUTCOMES) & (attempts["fault"] == "")]
    failed = int(attempts["outcome"].isin(FAILED_OUTCOMES).sum())
    shown = stray.assign(started=stray["started"].astype(str), ended=stray["ended"].astype(str))
    return CheckResult.from_counterexample(
        "errors_only_under_faults", shown.to_dict(orient="records")[:10],
        observed=f"{len(stray)} of {failed} failed attempts outside every window",
        expected="0", message="an attempt fails only while a fault is on (or just after)")


def declared_paths(params: McpParams, windows: pd.DataFrame) -> list[DeclaredPath]:
    """Each fault kind that played must have broken at least one attempt."""
    played = sorted({fault_name(window) for window in windows.itertuples(index=False)})

    def broke(kind: str) -> Any:
        def count(result: Any) -> int:
            attempts = result.frames["attempts"]
            return int((attempts["outcome"].isin(FAILED_OUTCOMES)
                        & (attempts["fault"] == kind)).sum())
        return count

    return [DeclaredPath(f"{kind}_broke_calls", f"a tool call attempt failed under {kind}",
                         broke(kind)) for kind in played]


__all__ = ["FAILED_OUTCOMES", "acknowledged_writes_kept", "attempts_frame", "declared_paths",
           "errors_only_under_faults", "every_call_answered", "fault_name", "no_duplicate_tasks",
           "outcomes_by_fault", "recovery"]
