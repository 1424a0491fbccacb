"""What the crash study adds to the generated run's checks: recovery time after each fault,
and the paths its faults must exercise (syncbench.paths), both from the recorded frames.

Recovery after a fault is the time from its end (for a client crash: from the killed
sync's end) until an affected client next completes an operation ok: every client for a
server fault, the clients behind the target's proxy for a partition, the crashed CLI
replica for a client crash.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from syncbench.nemesis import PROCESS
from syncbench.paths import DeclaredPath
from syncbench.studies.sync.params import group_of

# operations that change nothing on the server (the rest may write)
READS = frozenset({"get", "list", "changes", "subscribe", "resume", "unsubscribe",
                   "final_drain", "cli_list", "cli_conflicts", "cli_watch", "gate", "ws_gate",
                   "noop", "start", "stop"})
RECOVERY_COLUMNS = ("fault_id", "fault", "choice", "label", "target", "start", "end",
                    "down_s", "since", "recovered", "recovery_s")
KILLED = -9
HELD_S = 0.5  # a request held this long across a partition's end was held by it
PAUSE_EDGE_S = 0.02  # answers this close to a pause's edges may have left just outside it
PAUSE_HELD_S = 0.1  # a request sent this long before a pause's end was held by it
MIN_OFFSET_S = 2.0  # a clock moved less than this is not told from delivery delays
_CLIENT = re.compile(r"^[crskw]\d+$")


def choice_of(fault: str, label: str) -> str:
    """The crash study's name for a window (`partition` with replies only: lost_replies)."""
    if fault == "partition" and label == "replies lost":
        return "lost_replies"
    return fault


def client_group(client: str) -> str | None:
    """The proxy group of a workload client (listeners w<i> beside subscriber s<i>)."""
    if not _CLIENT.match(client):
        return None
    return group_of(f"s{client[1:]}" if client[0] == "w" else client)


def _seconds(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def windows_of(frames: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """The played windows as plain rows, times in Unix seconds, with their `choice`."""
    rows = []
    for window in frames["windows"].to_dict(orient="records"):
        rows.append({**window, "start": _seconds(window["start"]),
                     "end": _seconds(window["end"]),
                     "choice": choice_of(str(window["fault"]), str(window["profile"]))})
    return rows


def affected(operations: pd.DataFrame, target: str) -> pd.DataFrame:
    """The workload clients' operations a fault on `target` reaches."""
    mine = operations[operations["client"] != PROCESS]
    if target == "server":
        return mine[mine["client"].map(lambda c: client_group(str(c)) is not None)]
    if _CLIENT.match(target):
        return mine[mine["client"] == target]
    return mine[mine["client"].map(lambda c: client_group(str(c)) == target)]


def overlapping(ops: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    completes = ops["complete_time"].fillna(math.inf)
    return ops[(ops["invoke_time"] < end) & (completes > start)]


def killed_syncs(ops: pd.DataFrame) -> pd.DataFrame:
    if "arg_exit_code" not in ops:
        return ops.iloc[0:0]
    return ops[(ops["operation"] == "cli_sync")
               & (pd.to_numeric(ops["arg_exit_code"], errors="coerce") == KILLED)]


def recovery_frame(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per fault window: how long it was down and how long recovery took after."""
    operations = frames["operations"]
    rows = []
    for window in windows_of(frames):
        mine = affected(operations, str(window["target"]))
        since: float | None = window["end"]
        if window["fault"] == "client_crash":
            killed = killed_syncs(overlapping(mine, window["start"], window["end"]))
            since = float(killed["complete_time"].min()) if len(killed) else None
        recovered = math.nan
        if since is not None:
            later = mine[(mine["outcome"] == "ok") & (mine["complete_time"] > since)]
            recovered = float(later["complete_time"].min()) if len(later) else math.nan
        rows.append({
            "fault_id": window["fault_id"], "fault": window["fault"],
            "choice": window["choice"], "label": window["profile"],
            "target": window["target"], "start": window["start"], "end": window["end"],
            "down_s": round(window["end"] - window["start"], 4),
            "since": since if since is not None else math.nan, "recovered": recovered,
            "recovery_s": (round(recovered - since, 4)
                           if since is not None and not math.isnan(recovered) else math.nan)})
    return pd.DataFrame(rows, columns=list(RECOVERY_COLUMNS))


def recovery_summary(recovery: pd.DataFrame) -> pd.DataFrame:
    """Per fault choice: windows, recovered, median and p99 recovery seconds."""
    columns = ["choice", "windows", "recovered", "median_s", "p99_s", "max_s"]
    if recovery.empty:
        return pd.DataFrame(columns=columns)
    grouped = recovery.groupby("choice", sort=True)["recovery_s"]
    summary = pd.DataFrame({
        "windows": grouped.size(), "recovered": grouped.count(),
        "median_s": grouped.median(), "p99_s": grouped.quantile(0.99),
        "max_s": grouped.max()}).reset_index()
    return summary[columns]


# -- the paths each fault must exercise ---------------------------------------------------

def _windows(result: Any, choice: str) -> list[dict[str, Any]]:
    return [w for w in windows_of(result.frames) if w["choice"] == choice]


def _of(operations: pd.DataFrame, roles: str) -> pd.DataFrame:
    """Operations of workload clients whose names start with one of `roles` ("cr": HTTP
    clients and in-process replicas, whose requests are short; CLI commands take seconds)."""
    return operations[operations["client"].astype(str).str.match(rf"^[{roles}]\d+$")]


def writes_in_flight_at_crash(result: Any) -> int:
    """Writes in flight when the server was killed: those of HTTP clients and replicas that
    lost their connection to it (given up unanswered, or retried until the server was
    back), and in a window where none did, the writes the server itself held unanswered
    at the kill (its /metrics count, read just before; a CLI sync's, whose seconds-long
    command cannot be placed by its times)."""
    operations = result.frames["operations"]
    ops = _of(operations, "cr")
    writes = ops[~ops["operation"].isin(READS)]
    began = fault_began(operations)
    killed = fault_evidence(operations, "server_killed")
    held = fault_evidence(operations, "writes_in_flight_at_kill")
    count = 0
    for window in _windows(result, "crash"):
        if not killed.get(window["fault_id"]):
            continue  # the kill did not end the server: what failed then was something else
        # from the fault's start being asked for (the hold, then the kill) to its being on
        hit = overlapping(writes, began.get(window["fault_id"], window["start"]),
                          window["start"])
        through = hit["complete_time"].fillna(math.inf) >= window["end"]
        # given up unanswered, or retried until the server was back
        lost = (hit["outcome"] == "info") | ((hit["attempts"].fillna(1) > 1) & through)
        count += int(lost.sum()) or int(held.get(window["fault_id"], 0))
    return count


def resumed_after_restart(result: Any) -> int:
    """Subscriber connections opened after a graceful restart that replayed events."""
    deliveries = result.frames["deliveries"]
    if deliveries.empty:
        return 0
    first = deliveries.groupby(["subscriber", "connection"]).agg(
        began=("received_time", "min"), replayed=("replay", "sum"))
    stopped = fault_evidence(result.frames["operations"], "server_stopped")
    return sum(int(((first["began"] > w["start"]) & (first["began"] <= w["end"] + 30.0)
                    & (first["replayed"] > 0)).sum()) for w in _windows(result, "restart")
               if stopped.get(w["fault_id"]))


def held_while_paused(result: Any) -> int:
    """Requests the paused server held: in a window whose start saw the kernel show the
    server stopped (a server just restarted, or starved of CPU, is slow and silent too: the
    kernel tells them apart), single HTTP requests and replica syncs sent before it or at
    least PAUSE_HELD_S before its end and answered only after it (or never) on their first
    attempt; a window in which one sent during it was answered within it does not count.
    (Each client has one request out at a time: HTTP clients alone held one or two in a
    run now and then.)"""
    operations = result.frames["operations"]
    stopped = fault_evidence(operations, "process_stopped")
    http = _of(operations, "c")
    http = pd.concat([http[http["operation"] != "list"],  # a list walks pages: many requests
                      _of(operations, "r").query("operation == 'sync'")])  # a replica's
    # sync is a request or two on a LAN (its local edits never reach the server)
    completes = http["complete_time"].fillna(math.inf)
    first_try = http["attempts"].fillna(1) == 1
    count = 0
    for window in _windows(result, "pause"):
        if not stopped.get(window["fault_id"]):
            continue  # the kernel never showed the server stopped: a slow server is no pause
        start, end = window["start"], window["end"]
        answered = ((http["outcome"] == "ok") & (http["invoke_time"] > start + PAUSE_EDGE_S)
                    & (completes < end - PAUSE_EDGE_S))
        if answered.any():
            continue  # the server answered during the window: it was not paused
        sent = http["invoke_time"] <= end - PAUSE_HELD_S
        count += int((sent & (completes >= end) & first_try).sum())
    return count


def fault_began(operations: pd.DataFrame) -> dict[Any, float]:
    """When each fault's start was invoked, by fault id (its window starts when it was on)."""
    if "arg_fault_id" not in operations:
        return {}
    starts = operations[(operations["client"] == PROCESS) & (operations["operation"] == "start")]
    return dict(zip(starts["arg_fault_id"], starts["invoke_time"].astype(float), strict=True))


def fault_evidence(operations: pd.DataFrame, name: str) -> dict[Any, Any]:
    """What each fault's start recorded as `name` (FaultKind.evidence), by fault id."""
    column = f"arg_{name}"
    if column not in operations or "arg_fault_id" not in operations:
        return {}
    starts = operations[(operations["client"] == PROCESS) & (operations["operation"] == "start")]
    return {fault_id: value for fault_id, value in zip(starts["arg_fault_id"], starts[column],
                                                       strict=True) if value == value}


def clock_offsets(operations: pd.DataFrame) -> dict[Any, float]:
    """Each clock fault's offset (seconds) by fault id, from its nemesis start operation."""
    if "arg_offset_s" not in operations or "arg_fault" not in operations:
        return {}
    starts = operations[(operations["client"] == PROCESS) & (operations["operation"] == "start")
                        & (operations["arg_fault"] == "clock")]
    return {row["arg_fault_id"]: float(row["arg_offset_s"])
            for row in starts.to_dict(orient="records")}


def stamped_by_moved_clock(result: Any) -> int:
    """Live events that arrived during a clock fault stamped the way the clock was moved:
    at least half its offset away from their arrival, on its side (a clock behind makes
    events look late, ahead makes them come from the future), which no delay explains."""
    deliveries = result.frames["deliveries"]
    if deliveries.empty:
        return 0
    offsets = clock_offsets(result.frames["operations"])
    shown = fault_evidence(result.frames["operations"], "server_clock_off_s")
    live = deliveries[~deliveries["replay"].astype(bool)]
    stamped_off = -live["latency_ms"] / 1000.0  # the stamp minus the arrival
    count = 0
    for window in _windows(result, "clock"):
        offset = offsets.get(window["fault_id"], 0.0)
        if abs(offset) < MIN_OFFSET_S or window["fault_id"] not in shown:
            continue  # too small to tell from a delay, or the server never showed it
        moved = (stamped_off * math.copysign(1.0, offset)) >= abs(offset) / 2
        count += int((moved & (live["received_time"] >= window["start"])
                      & (live["received_time"] <= window["end"])).sum())
    return count


def met_the_network(ops: pd.DataFrame, window: dict[str, Any]) -> pd.DataFrame:
    """Operations a partition window met: overlapping it and failed, retried, or held from
    inside it until after its end."""
    during = overlapping(ops, window["start"], window["end"])
    completes = during["complete_time"].fillna(math.inf)
    held = ((completes >= window["end"]) & (during["invoke_time"] < window["end"])
            & (completes - during["invoke_time"] >= HELD_S))
    return during[(during["outcome"] != "ok") | (during["attempts"].fillna(1) > 1) | held]


def failed_while_partitioned(result: Any) -> int:
    """Operations of a partitioned group that the partition dropped, made retry or held."""
    operations = result.frames["operations"]
    return sum(len(met_the_network(affected(operations, str(w["target"])), w))
               for w in _windows(result, "partition"))


def replies_lost(result: Any) -> int:
    """Requests of a client whose replies were being lost that the loss met (the request
    reached the server; a write was applied, its client never told)."""
    operations = result.frames["operations"]
    return sum(len(met_the_network(affected(operations, str(w["target"])), w))
               for w in _windows(result, "lost_replies"))


def syncs_killed(result: Any) -> int:
    """CLI syncs killed by SIGKILL (a client crash) mid-way."""
    return len(killed_syncs(result.frames["operations"]))


def failed_on_storage(result: Any) -> int:
    """Operations that needed a retry or failed while storage was failing."""
    ops = affected(result.frames["operations"], "server")
    count = 0
    for window in _windows(result, "storage"):
        during = overlapping(ops, window["start"], window["end"])
        count += int(((during["attempts"].fillna(1) > 1) | (during["outcome"] != "ok")).sum())
    return count


PATHS = {
    "crash": DeclaredPath("crash_with_writes_in_flight", "a write in flight when the server "
                          "was killed", writes_in_flight_at_crash),
    "restart": DeclaredPath("resumed_after_restart", "a subscriber reconnected after a "
                            "graceful restart and was replayed what it missed",
                            resumed_after_restart),
    "pause": DeclaredPath("held_while_paused", "a request held by the paused server until "
                          "after the pause (answered late, or timed out)", held_while_paused),
    "clock": DeclaredPath("stamped_by_moved_clock", "an event stamped by the server's moved "
                          "clock", stamped_by_moved_clock),
    "partition": DeclaredPath("met_the_partition", "a request of a partitioned client "
                              "dropped, retried or held", failed_while_partitioned),
    "lost_replies": DeclaredPath("reply_lost", "a request that reached the server while its "
                                 "client's replies were lost, unanswered or retried",
                                 replies_lost),
    "client_crash": DeclaredPath("sync_killed_mid_way", "a CLI sync killed by a client "
                                 "crash", syncs_killed),
    "storage": DeclaredPath("retried_on_storage_errors", "a request retried or failed while "
                            "storage failed", failed_on_storage),
}


def declared_paths(choices: Sequence[str]) -> list[DeclaredPath]:
    """The paths of the fault choices a run played, in PATHS order."""
    return [path for choice, path in PATHS.items() if choice in set(choices)]


__all__ = ["PATHS", "READS", "RECOVERY_COLUMNS", "affected", "choice_of", "declared_paths",
           "recovery_frame", "recovery_summary", "windows_of"]
