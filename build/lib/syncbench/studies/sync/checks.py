"""The sync study's own checks: how the server settled each acknowledged change.

Acknowledged, precisely: a local change (one outbox row, i.e. one change id) is acknowledged
by the sync during which it left the replica's outbox. A replica removes a row only when it
applies a server reply that settles it, and a sync that completes `ok` has settled every
change queued before it started; so every change queued when an `ok` sync began is
acknowledged by that sync (a sync that fails half way acknowledges the changes of the chunks
answered before the failure). An acknowledged change is kept when the server's change log
holds an event of its task with exactly its fields (applied, or already equal), or when its
replica recorded a conflict for its change id (the strategy decided against it, and said
so); and the final server task must exist with a version at least that event's version.

Every function here is linear in its rows: events and conflicts are indexed in dicts once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from syncbench.checks import (
    STABILITY_COLUMNS,
    change_feed,
    conditional_writes,
    errors_only_under_faults,
    gates_answer_as_documented,
    replica_matches_server,
    response_integrity,
    session_guarantees,
    time_to_stable,
)
from syncbench.history import OK, History, Operation
from syncbench.plain import is_missing, plain
from syncbench.studies.sync.params import group_of
from syncbench.studies.sync.phases import TASK_FIELDS
from syncbench.verdict import PASS, CheckResult, compose

ACK_FIELDS = ["profile", "replica", "repository", "change_id", "sync_op_id", "sync_outcome",
              "local_op_id", "kind", "key", "task_id", *TASK_FIELDS]
LOG_FIELDS = ["profile", "repository", "seq", "type", "task_id", "version", "origin",
              "timestamp", *TASK_FIELDS]
CONFLICT_FIELDS = ["profile", "replica", "repository", "change_id", "task_id", "conflict_id",
                   "strategy", "winner", "base_version"]
PENDING_FIELDS = ["profile", "replica", "repository", "change_id", "task_id"]
SETTLED_AS = ("applied", "conflict", "pruned", "lost")
# the operations that create a task (a logical create each, keyed by `key` or `content_key`)
CREATE_OPERATIONS = frozenset({"local_create", "create", "retry_create"})
SYNC_OPERATIONS = frozenset({"sync", "cli_sync"})  # a replica's and a CLI replica's push


def _fields(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A change's or event's task fields as a dict key: `deleted` as a bool (a tombstone
    matches only a tombstone, whatever form the flag arrived in), missing values as None."""
    return tuple(None if is_missing(row[name]) else bool(row[name]) if name == "deleted"
                 else row[name] for name in TASK_FIELDS)


def _event_index(change_log: pd.DataFrame) -> dict[tuple[Any, ...], dict[Any, dict[str, Any]]]:
    """(profile, repository, task_id, *fields) -> {origin: its first event with those fields,
    None: the first event with them from anyone}."""
    index: dict[tuple[Any, ...], dict[Any, dict[str, Any]]] = {}
    for event in change_log.to_dict(orient="records"):
        key = (event["profile"], event["repository"], event["task_id"], *_fields(event))
        firsts = index.setdefault(key, {})
        for origin in (event["origin"], None):
            kept = firsts.get(origin)
            if kept is None or event["seq"] < kept["seq"]:
                firsts[origin] = event
    return index


def settle_acknowledged(acks: pd.DataFrame, change_log: pd.DataFrame,
                        conflicts: pd.DataFrame) -> pd.DataFrame:
    """The acknowledged changes, each with how the server settled it.

    `settled_as` is "applied" when the change log holds an event of the change's task with
    exactly its fields (the first such event by the same replica preferred; another's
    counts, for a change the server found already equal), "conflict" when its replica
    recorded a conflict for its change id, "pruned" when neither and the repository's log
    no longer starts at seq 1 (its event may have been pruned), else "lost". `version` and
    `seq` are the matching event's.
    """
    events = _event_index(change_log)
    # logs that no longer start at seq 1: tasksync serve --log-retention pruned them
    earliest = change_log.groupby(["profile", "repository"])["seq"].min()
    pruned = {key for key, seq in earliest.items() if seq > 1}
    reported = set(zip(conflicts["profile"], conflicts["replica"], conflicts["change_id"],
                       strict=True))
    rows = []
    for ack in acks.to_dict(orient="records"):
        firsts = events.get((ack["profile"], ack["repository"], ack["task_id"], *_fields(ack)))
        if firsts:
            match = firsts.get(ack["replica"], firsts[None])
            rows.append({**ack, "settled_as": "applied", "version": match["version"],
                         "seq": match["seq"]})
        elif (ack["profile"], ack["replica"], ack["change_id"]) in reported:
            rows.append({**ack, "settled_as": "conflict", "version": None, "seq": None})
        elif (ack["profile"], ack["repository"]) in pruned:
            # its event may be among those the log no longer holds: no evidence either way
            # here (no_lost_acknowledged_writes and convergence still judge the task)
            rows.append({**ack, "settled_as": "pruned", "version": None, "seq": None})
        else:
            rows.append({**ack, "settled_as": "lost", "version": None, "seq": None})
    frame = pd.DataFrame(rows, columns=[*acks.columns, "settled_as", "version", "seq"])
    for column in ("version", "seq"):
        frame[column] = frame[column].astype("Int64")
    return frame


def acknowledged_changes_applied_or_reported(settled: pd.DataFrame) -> CheckResult:
    """Proves that every acknowledged change was applied or reported as a conflict.

    `settled` comes from `settle_acknowledged`. The counterexample lists each "lost"
    change with its local operation and the sync operation that acknowledged it.
    """
    lost = settled[settled["settled_as"] == "lost"]
    counts = settled["settled_as"].value_counts().to_dict()
    entries = [
        {key: plain(row[key]) for key in ("profile", "replica", "change_id", "task_id",
                                           "local_op_id", "sync_op_id", "kind", "key",
                                           *TASK_FIELDS)}
        for row in lost.to_dict(orient="records")]
    message = ("every acknowledged change is in the change log or reported as a conflict"
               if not entries else "; ".join(
                   f"{e['replica']} change {e['change_id']} (op {e['local_op_id']}, acknowledged "
                   f"by sync op {e['sync_op_id']}) is neither applied nor reported"
                   for e in entries[:5]) + (" ..." if len(entries) > 5 else ""))
    return CheckResult(
        name="acknowledged_changes_applied_or_reported",
        passed=not entries,
        observed=(f"{len(entries)} lost of {len(settled)} acknowledged "
                  f"({counts.get('applied', 0)} applied, {counts.get('conflict', 0)} conflicts"
                  + (f", {counts['pruned']} in pruned logs" if counts.get("pruned") else "")
                  + ")"),
        expected="0 lost",
        message=message,
        counterexample=entries,
    )


def acknowledged_write_operations(settled: pd.DataFrame) -> list[Operation]:
    """Each acknowledged change as an `ok` write Operation for no_lost_acknowledged_writes.

    The op id is the local edit's; the version is the one the server gave the change
    (None for a change settled by a conflict: then only the task's existence is checked).
    """
    ops = []
    for row in settled.to_dict(orient="records"):
        local_op_id, task_id, version = (plain(row.get(name))
                                         for name in ("local_op_id", "task_id", "version"))
        kind = row.get("kind")
        ops.append(Operation(
            op_id=-1 if local_op_id is None else int(local_op_id),
            client=str(row["replica"]),
            operation=kind if kind in ("create", "update", "delete") else "update",
            args={"change_id": row["change_id"], "sync_op_id": plain(row["sync_op_id"]),
                  "key": row.get("key")},
            invoke_time=0.0, invoke_monotonic=0.0, outcome=OK,
            task_id=task_id, version=None if version is None else int(version)))
    return ops


def every_local_change_acknowledged(pending: pd.DataFrame | Iterable[Mapping[str, Any]]
                                    ) -> CheckResult:
    """Proves that no local change was still waiting in an outbox when the run ended."""
    rows = pending.to_dict(orient="records") if isinstance(pending, pd.DataFrame) else pending
    entries = [plain(dict(row)) for row in rows]
    return CheckResult(
        name="every_local_change_acknowledged",
        passed=not entries,
        observed=f"{len(entries)} changes still queued",
        expected="0 queued",
        message=("every replica's outbox is empty" if not entries else "still queued: " + ", ".join(
            f"{e.get('replica')}:{e.get('change_id')}" for e in entries[:10])),
        counterexample=entries,
    )


def resume_reached(result: CheckResult, cut_off: bool, reconnects: int) -> CheckResult:
    """`result` (subscribers_saw_every_event of one profile), or unknown when its subscribers
    were cut off and none reconnected: the resume the check is about never happened. A
    failure stays a failure; without a cut-off there was no resume to reach."""
    if result.verdict == PASS and cut_off and reconnects == 0:
        return CheckResult.not_reached(result.name, "subscribers were cut off but none "
                                       "reconnected, so no resume was checked",
                                       result.expected)
    return result


def generated_checks(frames: Mapping[str, pd.DataFrame], history: History,
                     server_of: Callable[[str], str | None] = lambda client: None,
                     ) -> tuple[list[CheckResult], pd.DataFrame | None]:
    """The checkers of lib/syncbench/checks over a generated run's frames, each composed
    over the profiles; and the time-to-stable distribution (None without those frames).

    Session guarantees, the change feed, response integrity, conditional writes, time to
    stable and each replica against the server at every sync (see each checker's docstring).
    """
    if "observations" not in frames:
        return [], None
    # every profile any frame saw (a short replayed schedule may observe no reply at all)
    profiles = list(dict.fromkeys(
        profile for name in GENERATED_FRAMES if name in frames and "profile" in frames[name]
        for profile in frames[name]["profile"]))
    parts: dict[str, dict[str, CheckResult]] = defaultdict(dict)
    stable_frames = []
    for profile in profiles:
        mine = {name: _of_profile(frames[name], profile) for name in GENERATED_FRAMES}
        ops = [op for op in history.operations if op.args.get("profile") == profile]
        # deletes a short log pruned are still known: delivered, or a final tombstone
        tombstones = [frame for frame in (mine["deliveries"], mine["final_states"])
                      if frame is not None and len(frame)]
        for name, result in session_guarantees(
                mine["observations"], change_log=mine["change_log"],
                tombstones=pd.concat(tombstones, ignore_index=True) if tombstones else None,
        ).items():
            parts[name][profile] = result
        parts["change_feed"][profile] = change_feed(mine["deliveries"], mine["subscriptions"],
                                                    mine["change_log"])
        parts["response_integrity"][profile] = response_integrity(mine["observations"])
        parts["conditional_writes"][profile] = conditional_writes(ops, mine["observations"])
        windows = frames["windows"]
        mine_windows = windows[windows["phase"] == profile] if len(windows) else windows
        parts["gates_answer_as_documented"][profile] = gates_answer_as_documented(
            ops, mine["final_states"], mine_windows, _group)
        parts["errors_only_under_faults"][profile] = errors_only_under_faults(
            ops, mine_windows, _group, server_of=server_of)
        stable = time_to_stable(mine["observations"], mine["replica_syncs"],
                                mine["final_states"])
        parts["time_to_stable"][profile] = stable.check
        stable_frames.append(stable.frame.assign(profile=profile))
        parts["replica_matches_server"][profile] = replica_matches_server(
            mine["replica_syncs"], mine["observations"], _sync_ops(ops))
    checks = [compose(name, by_profile) for name, by_profile in parts.items()]
    if not stable_frames:
        return checks, pd.DataFrame(columns=[*STABILITY_COLUMNS, "profile"])
    return checks, pd.concat(stable_frames, ignore_index=True)


def _sync_ops(ops: list[Any]) -> list[dict[str, Any]]:
    """Every sync of a replica or CLI replica (each pushes its outbox), compared or not."""
    return [{"op_id": op.op_id, "repository": op.args.get("repository"),
             "invoke_time": op.invoke_time, "complete_time": op.complete_time}
            for op in ops if op.operation in SYNC_OPERATIONS and op.args.get("repository")]


def fallbacks_justified(subscriptions: pd.DataFrame, syncs: pd.DataFrame,
                        log_retention: int, change_log: pd.DataFrame | None = None
                        ) -> CheckResult:
    """Proves that every fallback the run took had the cause it claims.

    Fallbacks hide bugs: a resync that refetches everything papers over lost events. So each
    is counted and held to its cause: a WebSocket resync_required (a `resync` row of
    `subscriptions`) only where the log no longer holds the seq right after the position
    (`earliest_seq > after + 1`), and a replica's full reload (`resynced` in `syncs`) and
    any resync only when the server prunes its log at all (`log_retention` > 0). A reload
    names its gap (`gap_after`, the replica's cursor, and `gap_first`, the first seq its
    pull returned past it): a seq of that gap still in the final `change_log` of the
    replica's repository was never pruned (a log is only ever pruned from its start), so
    the pull skipped it and the reload hid that.
    """
    resyncs = (subscriptions[subscriptions["action"] == "resync"] if len(subscriptions)
               else subscriptions)
    reloads = (syncs[syncs["resynced"].fillna(False).astype(bool)]
               if "resynced" in syncs and len(syncs) else syncs.iloc[0:0])
    entries: list[dict[str, Any]] = []
    for row in resyncs.to_dict(orient="records"):
        earliest, after = row.get("earliest_seq"), int(row.get("after") or 0)
        if not log_retention or is_missing(earliest) or int(earliest) <= after + 1:
            entries.append({**{k: plain(v) for k, v in row.items()}, "why": (
                f"resync_required for {row['subscriber']} at {after} although the log "
                f"{'is never pruned' if not log_retention else f'still starts at {earliest}'}")})
    retained = _retained_seqs(change_log)
    for row in reloads.to_dict(orient="records"):
        if not log_retention:
            entries.append({**{k: plain(v) for k, v in row.items()},
                            "why": f"{row['replica']} reloaded the full state from a log that "
                                   "is never pruned"})
            continue
        after, first = row.get("gap_after"), row.get("gap_first")
        if is_missing(after) or is_missing(first):
            continue
        held = sorted(seq for seq in retained.get((row.get("profile"), row.get("repository")),
                                                  ()) if int(after) < seq < int(first))
        if held:
            entries.append({**{k: plain(v) for k, v in row.items()}, "why": (
                f"{row['replica']} reloaded the full state after a pull from {int(after)} "
                f"began at {int(first)}, yet the log still holds {held[0]}"
                f"{f' (and {len(held) - 1} more)' if len(held) > 1 else ''}: never pruned, "
                "so the pull skipped it")})
    return CheckResult.from_counterexample(
        "fallbacks_justified", entries,
        observed=(f"{len(resyncs)} resync_required, {len(reloads)} replica full reloads; "
                  f"{len(entries)} without their cause"),
        expected="every fallback with its cause",
        message=("every resync and full reload had a pruned log behind it" if not entries
                 else "; ".join(e["why"] for e in entries[:5])))


def _group(client: str) -> str | None:
    """The proxy group of a generated run's client (None for the nemesis and observers)."""
    try:
        return group_of(client)
    except (KeyError, ValueError):
        return None


def _retained_seqs(change_log: pd.DataFrame | None) -> dict[tuple[Any, Any], set[int]]:
    """(profile, repository) -> the seqs the final change log holds."""
    if change_log is None or not len(change_log):
        return {}
    return {key: set(group["seq"].astype(int))
            for key, group in change_log.groupby(["profile", "repository"])}


GENERATED_FRAMES = ("observations", "deliveries", "subscriptions", "change_log",
                    "final_states", "replica_syncs")


def _of_profile(frame: pd.DataFrame, profile: str) -> pd.DataFrame:
    return frame[frame["profile"] == profile] if "profile" in frame else frame


__all__ = ["ACK_FIELDS", "CONFLICT_FIELDS", "CREATE_OPERATIONS", "LOG_FIELDS", "PENDING_FIELDS", "SETTLED_AS",
           "acknowledged_changes_applied_or_reported", "fallbacks_justified", "acknowledged_write_operations",
           "every_local_change_acknowledged", "generated_checks", "resume_reached", "settle_acknowledged"]
