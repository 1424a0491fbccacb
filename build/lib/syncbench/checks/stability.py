"""time_to_stable and replica_matches_server: convergence measured over the run, not only at its end."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from typing import Any, NamedTuple

import pandas as pd

from syncbench.checks._common import SNAPSHOT_FIELDS, first_few, frame_rows
from syncbench.verdict import CheckResult

STABILITY_COLUMNS: tuple[str, ...] = (
    "repository", "task_id", "last_write_time", "stable_time", "time_to_stable_s", "how",
    "replicas")


class TimeToStable(NamedTuple):
    """`time_to_stable`'s answer: one row per task (STABILITY_COLUMNS) and the verdict."""

    frame: pd.DataFrame
    check: CheckResult


def time_to_stable(observations: Any, replica_syncs: Any, final_states: Any) -> TimeToStable:
    """Per task, the seconds from its last acknowledged write until every holder agreed.

    A task's last write is the latest `complete_time` of its write rows in `observations`.
    Its holders are the server and every replica that synced its repository (`replica_syncs`)
    or holds it at the end (`final_states`). `replica_syncs` says whether a replica's whole
    state matched the server's at each sync, so the task is stable at the first moment when
    every such replica has reported a matching sync at or after the last write (`how` =
    "sync"; an upper bound: the match covers every task). A task that no such moment covers
    but that all holders hold alike in `final_states` (content, status, priority, deleted)
    became stable by the end (`how` = "final_state", `stable_time` = the run's last recorded
    time, an upper bound; only holders with final states for the repository are compared, a
    task one of them lacks counting as different). Otherwise `how` = "never" and the check
    fails; its counterexample gives, per such task, its last write row, each holder's final
    value and each replica's last sync row. Without the server's final states for the
    repository such a task is "undecided" and, failing nothing else, the check `unknown`.
    Tasks whose repository no replica holds are left out; when none remains: `unknown`.
    """
    writes = [r for r in frame_rows(observations, ("op_id", "version")) if r.get("kind") ==
              "write" and r.get("complete_time") is not None]
    syncs = frame_rows(replica_syncs, ("op_id", "cursor", "differing_tasks"))
    finals = frame_rows(final_states, ("version",))
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for row in writes:
        key = (str(row.get("task_repository") or row["repository"]), str(row["task_id"]))
        if key not in last or row["complete_time"] > last[key]["complete_time"]:
            last[key] = row
    replicas: dict[str, set[str]] = defaultdict(set)
    matched: dict[tuple[str, str], list[float]] = defaultdict(list)
    latest_sync: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted(syncs, key=lambda r: float(r["time"])):
        key = (str(row["replica"]), str(row["repository"]))
        replicas[key[1]].add(key[0])
        latest_sync[key] = row
        if row.get("matches_server"):
            matched[key].append(float(row["time"]))
    final: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for row in finals:
        if str(row["holder"]) != "server":
            replicas[str(row["repository"])].add(str(row["holder"]))
        final[(str(row["repository"]), str(row["task_id"]))][str(row["holder"])] = tuple(
            row.get(name) for name in SNAPSHOT_FIELDS)
    # only holders that reported final states for a repository are compared at the end
    holders_of: dict[str, set[str]] = defaultdict(set)
    for row in finals:
        holders_of[str(row["repository"])].add(str(row["holder"]))
    end = max([float(r["time"]) for r in syncs] + [float(r["complete_time"]) for r in writes],
              default=math.nan)

    records, never = [], []
    for (repository, task), write in sorted(last.items()):
        if not replicas.get(repository):
            continue
        written = float(write["complete_time"])
        times = [_first_at_or_after(matched.get((name, repository), []), written)
                 for name in sorted(replicas[repository])]
        values = {holder: final[(repository, task)].get(holder)
                  for holder in sorted(holders_of[repository])}
        if all(t is not None for t in times):
            how, stable = "sync", max(t for t in times if t is not None)
        elif "server" not in values:
            how, stable = "undecided", math.nan
        elif len(set(values.values())) == 1:
            how, stable = "final_state", end
        else:
            how, stable = "never", math.nan
            never.append({"repository": repository, "task_id": task, "last_write": write,
                          "final": {h: None if v is None else dict(zip(SNAPSHOT_FIELDS, v,
                                                                       strict=True))
                                    for h, v in values.items()},
                          "last_syncs": [latest_sync.get((name, repository))
                                         for name in sorted(replicas[repository])]})
        records.append((repository, task, written, stable, stable - written, how,
                        len(replicas[repository])))
    frame = pd.DataFrame(records, columns=list(STABILITY_COLUMNS))
    if frame.empty:
        return TimeToStable(frame, CheckResult.not_reached(
            "time_to_stable", "no written task's repository was held by a replica"))
    undecided = int((frame["how"] == "undecided").sum())
    if undecided and not never:
        return TimeToStable(frame, CheckResult.not_reached("time_to_stable", (
            f"{undecided} tasks had no matching sync after their last write and no final "
            "server state to compare")))
    stable_s = frame["time_to_stable_s"].dropna()
    spread = (f"; time to stable median {stable_s.median():.3f} s, p95 "
              f"{stable_s.quantile(0.95):.3f} s, max {stable_s.max():.3f} s"
              if len(stable_s) else "")
    message = ("every written task became stable on every holder" if not never else
               "never stable: " + first_few(never, lambda e: f"{e['repository']}/{e['task_id']}"))
    return TimeToStable(frame, CheckResult.from_counterexample(
        "time_to_stable", never, observed=f"{len(never)} of {len(frame)} tasks never stable"
        + spread, expected="0 tasks never stable", message=message))


def replica_matches_server(replica_syncs: Any, observations: Any = None,
                           sync_ops: Any = None) -> CheckResult:
    """Proves that a replica matched the server whenever it finished a sync with nothing pending.

    Rows of `replica_syncs` are completed syncs; with a `pending` column (changes left in
    the replica's outbox), only rows with pending 0 are checked. A checked row with
    `matches_server` false is explained (allowed) when another operation's write to that
    repository (`observations` write rows, by `task_repository`, or another replica's sync
    of it, from its `started` to its comparison when that column is given) was in flight during the
    sync: invoked before the comparison (`time`) and completed after the sync began (the
    sync op's first `invoke_time` in observations, else the replica's previous sync of the
    repository). `sync_ops` (op_id, repository, invoke_time, complete_time: every sync a
    replica or CLI replica made, NaN complete for one that never ended) count as pushes in
    flight too: a sync whose own comparison never ran (the server restarted under it) still
    pushed. Unexplained mismatches fail; each entry is the sync row with `why`.
    No checked row: `unknown`.
    """
    syncs = sorted(frame_rows(replica_syncs, ("op_id", "cursor", "differing_tasks")),
                   key=lambda r: float(r["time"]))
    syncs_all = syncs
    if syncs and "pending" in syncs[0]:
        syncs = [row for row in syncs if not row.get("pending")]
    if not syncs:
        return CheckResult.not_reached("replica_matches_server",
                                       "no replica finished a sync with nothing pending")
    rows = frame_rows(observations, ("op_id",)) if observations is not None else []
    began = {}
    for row in rows:
        began[row["op_id"]] = min(float(row["invoke_time"]), began.get(row["op_id"], math.inf))
    # other replicas' syncs (from `started`, when recorded, to their comparison) push
    # changes too: they count as writes in flight
    pushes = [{"task_repository": r["repository"], "repository": r["repository"],
               "invoke_time": r["started"], "complete_time": r["time"],
               "op_id": r.get("op_id")}
              for r in syncs_all if not _missing(r.get("started"))]
    # a sync that never ended may have pushed at any moment after it began
    pushes += [{**r, "task_repository": r["repository"],
                "complete_time": math.inf if _missing(r.get("complete_time"))
                else r["complete_time"]}
               for r in frame_rows(sync_ops, ("op_id",))] if sync_ops is not None else []
    writes = _Writes([r for r in rows if r.get("kind") == "write"] + pushes)
    previous: dict[tuple[str, str], float] = {}
    unexplained, explained = [], 0
    for row in syncs:
        key, at = (str(row["replica"]), str(row["repository"])), float(row["time"])
        start = (float(row["started"]) if not _missing(row.get("started")) else
                 began.get(row.get("op_id"), previous.get(key, -math.inf)))
        previous[key] = at
        if row.get("matches_server"):
            continue
        if writes.in_flight(key[1], start, at, row.get("op_id")):
            explained += 1
            continue
        unexplained.append({**row, "why": (
            f"{key[0]} differed from the server in {row.get('differing_tasks')} tasks of "
            f"{key[1]} after a sync, with no write to {key[1]} in flight since {start:.3f}")})
    message = (f"{explained} differing syncs explained by a write in flight" if not unexplained
               else first_few(unexplained, lambda e: e["why"]))
    return CheckResult.from_counterexample(
        "replica_matches_server", unexplained,
        observed=(f"{len(unexplained)} unexplained of {len(syncs)} syncs "
                  f"({explained} differed while a write was in flight)"),
        expected="0 unexplained", message=message)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _first_at_or_after(times: list[float], moment: float) -> float | None:
    index = bisect_left(times, moment)
    return times[index] if index < len(times) else None


class _Writes:
    """Write intervals per repository, asked "did one of another op overlap [start, end]?"
    in O(log n): sorted by invocation, with the two latest completions of distinct ops so
    far (one may be the sync's own op)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        by_repo: dict[str, list[tuple[float, float, Any]]] = defaultdict(list)
        for row in rows:
            by_repo[str(row.get("task_repository") or row["repository"])].append(
                (float(row["invoke_time"]), float(row["complete_time"]), row["op_id"]))
        self.invokes: dict[str, list[float]] = {}
        self.best: dict[str, list[tuple[tuple[float, Any], tuple[float, Any]]]] = {}
        for repo, spans in by_repo.items():
            spans.sort(key=lambda span: span[0])
            top: tuple[float, Any] = (-math.inf, None)
            second: tuple[float, Any] = (-math.inf, None)
            best = []
            for _, complete, op in spans:
                if op == top[1]:
                    top = max(top, (complete, op), key=lambda item: item[0])
                elif complete > top[0]:
                    top, second = (complete, op), top
                elif complete > second[0] and op != top[1]:
                    second = (complete, op)
                best.append((top, second))
            self.invokes[repo] = [span[0] for span in spans]
            self.best[repo] = best

    def in_flight(self, repository: str, start: float, end: float, own_op: Any) -> bool:
        index = bisect_right(self.invokes.get(repository, []), end) - 1
        if index < 0:
            return False
        top, second = self.best[repository][index]
        latest = second if top[1] == own_op else top
        return latest[0] >= start
