"""From what the profiles recorded to the result: frames, the six checks, metrics with units.

Each step is one pass over its rows (group by profile once, never filter per profile).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from syncbench import stats
from syncbench.checks import (
    convergence,
    no_duplicates_from_retries,
    no_lost_acknowledged_writes,
    subscribers_saw_every_event,
)
from syncbench.explore.records import frames_of
from syncbench.history import OK, History, Operation
from syncbench.metric import COUNT, MS, RATIO, Metrics, S
from syncbench.nemesis import PROCESS, fault_windows
from syncbench.studies.sync.checks import (
    ACK_FIELDS,
    CONFLICT_FIELDS,
    CREATE_OPERATIONS,
    LOG_FIELDS,
    PENDING_FIELDS,
    acknowledged_changes_applied_or_reported,
    acknowledged_write_operations,
    every_local_change_acknowledged,
    fallbacks_justified,
    generated_checks,
    resume_reached,
    settle_acknowledged,
)
from syncbench.studies.sync.params import SyncParams, subscriber_group
from syncbench.studies.sync.phases import ProfileRun
from syncbench.studies.sync.workload import content_key, workload_frame
from syncbench.study import StudyResult
from syncbench.verdict import CheckResult, compose

DELIVERY_FIELDS = ["profile", "subscriber", "repository", "seq", "task_id", "type", "event_time",
                   "received_time", "latency_ms", "replay", "connection", "group"]
CONVERGENCE_FIELDS = ["profile", "converged", "convergence_s", "last_write_time",
                      "converged_time", "final_rounds", "subscribers_caught_up", "reconnects",
                      "duplicates_dropped"]


@dataclass
class SyncResult(StudyResult):
    """The sync study's result; frames (each saved as `sync.<name>.csv`):

    `operations` (the History, nemesis included, with `profile`), `windows` (the offline
    windows the nemesis played, from the History: target (proxy group), profile ("offline"),
    phase (the network profile), start, end), `deliveries` (one row per event a subscriber
    delivered), `syncs` (one row per sync), `acknowledged` (acknowledged changes and how each
    was settled), `change_log`, `conflicts`, `pending` (changes still queued at the end),
    `convergence` (one row per profile) and `latency_cdf`.

    A generated run (`workload: generated`) adds the frames the checkers read
    (syncbench.explore.records: `observations`, `subscriptions`, `final_states`,
    `replica_syncs`; its `deliveries` have their columns, duplicates included) and
    `workload`, the operation schedule it played (one row per op, `args` as JSON).
    """

    def live_deliveries(self) -> pd.DataFrame:
        """Deliveries of live events (replays after a resume are excluded)."""
        deliveries = self.frame("deliveries")
        return deliveries[~deliveries["replay"].astype(bool)]

    def latency_cdf(self) -> pd.DataFrame:
        """ECDF points of live event delivery latency (ms), one curve per profile."""
        return self.frame("latency_cdf")

    def workload_operations(self) -> pd.DataFrame:
        """The replicas' operations (local writes and syncs), without the nemesis's."""
        operations = self.frame("operations")
        return operations[operations["client"] != PROCESS]


def assemble(params: SyncParams, history: History, runs: Sequence[ProfileRun],
             environment: Mapping[str, Any],
             operations: Sequence[Mapping[str, Any]] | None = None) -> SyncResult:
    """The result of a run whose profiles recorded `runs` into `history` (`operations`: the
    schedule a generated run played)."""
    history.complete_pending("the study ended first")
    outcomes = [run.outcome for run in runs]
    recorders = [run.recorder for run in runs if run.recorder is not None]
    deliveries = (frames_of(recorders, "deliveries") if recorders else
                  _frame((d for run in runs for d in run.deliveries), DELIVERY_FIELDS))
    acks = _frame((a for run in runs for a in run.acks), ACK_FIELDS)
    change_log = _frame((e for o in outcomes for e in o["log"]), LOG_FIELDS)
    conflicts = _frame((c for o in outcomes for c in o["conflicts"]), CONFLICT_FIELDS)
    pending = _frame((p for o in outcomes for p in o["pending"]), PENDING_FIELDS)
    settled = settle_acknowledged(acks, change_log, conflicts)
    live = deliveries[~deliveries["replay"].astype(bool)]
    frames = {
        "operations": _operations(history),
        "windows": fault_windows(history),
        "deliveries": deliveries,
        "syncs": pd.DataFrame([s for run in runs for s in run.syncs]),
        "acknowledged": settled,
        "change_log": change_log,
        "conflicts": conflicts,
        "pending": pending,
        "convergence": _frame(({k: o[k] for k in CONVERGENCE_FIELDS} for o in outcomes),
                              CONVERGENCE_FIELDS),
        "latency_cdf": stats.ecdf_by(live, "latency_ms", "profile"),
    }
    if recorders:
        # the checkers' frames (lib/syncbench/checks reads them), and the schedule played
        for name in ("observations", "subscriptions", "final_states", "replica_syncs"):
            frames[name] = frames_of(recorders, name)
        frames["workload"] = workload_frame(operations or [])
    for name in dict.fromkeys(name for run in runs for name in run.extra):  # a Watch's frames
        frames[name] = pd.DataFrame([row for run in runs for row in run.extra.get(name, [])])
    result = SyncResult(
        study=params.study_name or "sync", params=params, frames=frames, history=history,
        schedule=[window for run in runs for window in run.played],
        environment=dict(environment))
    checks, stable = generated_checks(frames, history, params.server_of)
    if stable is not None:
        result.frames["time_to_stable"] = stable
    result.checks = _checks(params, history, outcomes, frames) + checks
    _metrics(result.metrics, params, frames)
    return result


def _frame(rows: Any, columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(columns))


def _operations(history: History) -> pd.DataFrame:
    """The History as a frame, `profile` naming each operation's network profile (the
    nemesis's operations carry it as their phase)."""
    operations = history.to_frame()
    profile = operations.get("arg_profile", pd.Series(None, index=operations.index, dtype=object))
    if "arg_phase" in operations:
        profile = profile.where(operations["client"] != PROCESS, operations["arg_phase"])
    operations["profile"] = profile
    return operations


def _by_profile(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {str(profile): part for profile, part in frame.groupby("profile", sort=False)}


def _checks(params: SyncParams, history: History, outcomes: Sequence[Mapping[str, Any]],
            frames: Mapping[str, pd.DataFrame]) -> list[CheckResult]:
    settled = frames["acknowledged"]
    settled_by, deliveries_by = _by_profile(settled), _by_profile(frames["deliveries"])
    ops_by: dict[str, list[Operation]] = defaultdict(list)
    for op in history.operations:
        ops_by[op.args.get("profile")].append(op)
    log_seqs: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for profile, repository, seq in frames["change_log"][["profile", "repository", "seq"]
                                                         ].itertuples(index=False):
        log_seqs[profile][repository].append(int(seq))
    subscribers = [f"s{index}" for index in range(params.subscribers)]
    subscriber_groups = {subscriber_group(index) for index in range(params.subscribers)}
    windows = frames["windows"]
    cut_off = {phase for phase, target in zip(windows["phase"], windows["target"], strict=True)
               if target in subscriber_groups}
    empty_settled, empty_deliveries = settled.iloc[0:0], frames["deliveries"].iloc[0:0]
    delivery_columns = ["subscriber", "repository", "seq", "received_time"]
    checks = [
        compose("convergence", {
            f"{o['profile']}/{repo}": convergence(states, compare_versions=True)
            for o in outcomes for repo, states in o["states"].items()}),
        compose("no_lost_acknowledged_writes", {
            o["profile"]: no_lost_acknowledged_writes(
                acknowledged_write_operations(settled_by.get(o["profile"], empty_settled)),
                _server_tasks(o))
            for o in outcomes}),
        acknowledged_changes_applied_or_reported(settled),
        every_local_change_acknowledged(frames["pending"]),
        compose("no_duplicates_from_retries", {
            o["profile"]: no_duplicates_from_retries(
                ops_by[o["profile"]], _server_tasks(o),
                task_key=lambda task: content_key(str(task.get("content", ""))),
                op_key=lambda op: op.args.get("key") or op.args.get("content_key"),
                create_operations=CREATE_OPERATIONS)
            for o in outcomes}),
    ]
    if "observations" in frames:
        # a generated run's feeds are judged whole by change_feed
        return [*checks, fallbacks_justified(frames["subscriptions"], frames["syncs"],
                                             params.log_retention, frames["change_log"])]
    checks += [
        compose("subscribers_saw_every_event", {
            o["profile"]: resume_reached(subscribers_saw_every_event(
                *_drained(o, deliveries_by.get(o["profile"], empty_deliveries)[
                    [*delivery_columns, "connection"]]),
                {repo: log_seqs[o["profile"]][repo] for repo in o["states"]},
                subscriptions=o.get("drain_positions") or {
                    sub: dict.fromkeys(o["states"], 0) for sub in subscribers}),
                o["profile"] in cut_off, o["reconnects"])
            for o in outcomes}),
    ]
    return checks


def _drained(outcome: Mapping[str, Any], deliveries: pd.DataFrame) -> tuple[pd.DataFrame]:
    """The deliveries subscribers_saw_every_event judges: all of them in a nominal run; in a
    generated run those of each subscriber's final drain (a resume from the last seq it was
    delivered), since its earlier connections started where the schedule said."""
    last = outcome.get("drain_connections")
    if not last:
        return (deliveries[["subscriber", "repository", "seq", "received_time"]],)
    final = deliveries["connection"] == deliveries["subscriber"].map(last)
    return (deliveries[final][["subscriber", "repository", "seq", "received_time"]],)


def _server_tasks(outcome: Mapping[str, Any]) -> dict[str, Any]:
    return {task_id: task for states in outcome["states"].values()
            for task_id, task in states["server"].items()}


def _metrics(metrics: Metrics, params: SyncParams, frames: Mapping[str, pd.DataFrame]) -> None:
    for row in frames["convergence"].itertuples(index=False):
        metrics.add(f"convergence_s_{row.profile}", float(row.convergence_s), S)
        metrics.add(f"final_sync_rounds_{row.profile}", int(row.final_rounds), COUNT)
        metrics.add(f"subscriber_reconnects_{row.profile}", int(row.reconnects), COUNT)
        # The client drops redelivered seqs before the check sees them; count them here.
        metrics.add(f"subscriber_duplicates_dropped_{row.profile}", int(row.duplicates_dropped),
                    COUNT)
    deliveries = frames["deliveries"]
    syncs = frames["syncs"]
    delivered = deliveries.groupby("profile").size()
    live = deliveries[~deliveries["replay"].astype(bool)]
    live_count = live.groupby("profile").size()
    latencies = {profile: part["latency_ms"] for profile, part in live.groupby("profile")}
    syncs_by = _by_profile(syncs) if len(syncs) else {}
    acknowledged = frames["acknowledged"].groupby("profile").size()
    conflicts = frames["conflicts"].groupby("profile").size()
    for profile in params.profiles:
        for name, value in stats.percentiles(latencies.get(profile, ())).items():
            metrics.add(f"delivery_{name}_ms_{profile}", value, MS)
        mine = syncs_by.get(profile, pd.DataFrame(columns=["outcome", "round_trips", "attempts"]))
        done = mine[mine["outcome"] == OK]
        metrics.add(f"syncs_{profile}", len(mine), COUNT)
        metrics.add(f"syncs_not_ok_{profile}", len(mine) - len(done), COUNT)
        metrics.add(f"sync_round_trips_{profile}", int(done["round_trips"].sum()), COUNT)
        metrics.add(f"sync_round_trips_per_sync_{profile}",
                    float(done["round_trips"].mean()) if len(done) else None, RATIO)
        metrics.add(f"sync_http_attempts_{profile}", int(mine["attempts"].sum()), COUNT)
        metrics.add(f"acknowledged_changes_{profile}", int(acknowledged.get(profile, 0)), COUNT)
        metrics.add(f"conflicts_{profile}", int(conflicts.get(profile, 0)), COUNT)
        metrics.add(f"replayed_deliveries_{profile}",
                    int(delivered.get(profile, 0) - live_count.get(profile, 0)), COUNT)
    operations = frames["operations"]
    metrics.add("local_writes", int(operations["operation"].str.startswith("local_").sum()),
                COUNT)
    if "subscriptions" in frames:
        # fallbacks hide bugs: how often each was taken (fallbacks_justified checks why)
        subscriptions = frames["subscriptions"]
        resyncs = subscriptions[subscriptions["action"] == "resync"].groupby("profile").size()
        reloads = (syncs[syncs["resynced"].fillna(False).astype(bool)].groupby("profile").size()
                   if "resynced" in syncs else pd.Series(dtype=int))
        retried = operations[operations["attempts"].fillna(0) > 1].groupby("profile").size()
        for profile in params.profiles:
            metrics.add(f"resync_required_{profile}", int(resyncs.get(profile, 0)), COUNT)
            metrics.add(f"replica_full_reloads_{profile}", int(reloads.get(profile, 0)), COUNT)
            metrics.add(f"operations_retried_{profile}", int(retried.get(profile, 0)), COUNT)


__all__ = ["CONVERGENCE_FIELDS", "DELIVERY_FIELDS", "SyncResult", "assemble"]
