"""What the replicas study adds to the generated run's checks, from the recorded frames.

Every client reaches one server replica (its proxy group's, `server_of`); a write's origin
is its client, so each delivered event has a path: `same replica` (the writer and the
subscriber on one server) or `cross replica` (it came through the database's change
feed). A fault on one replica's database link (or on that replica) must stay there:

    breaker_isolated      a server's breaker opened only while a fault was on that server
                          (or on the database, which all share), within `breaker_grace_s`
    others_kept_serving   while one replica's link was faulted, the clients of the other
                          replicas completed operations, and none of theirs failed
                          because of it (a failed op there fails the check)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from syncbench.checks.trouble import GRACE_S, trouble
from syncbench.history import History
from syncbench.paths import DeclaredPath
from syncbench.studies.crash.analysis import client_group, windows_of
from syncbench.studies.replicas.params import ReplicasParams
from syncbench.verdict import CheckResult

LINK_FAULTS = frozenset({"db_link", "db_outage"})
SHARED = "database"  # a database restart is on every server
DELIVERY_PATH_COLUMNS = ("profile", "subscriber", "subscriber_server", "origin",
                         "origin_server", "path", "repository", "seq", "latency_ms")


def delivery_paths(params: ReplicasParams, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Live deliveries with the writer's and the subscriber's server, and the path."""
    deliveries, log = frames["deliveries"], frames["change_log"]
    if deliveries.empty or log.empty:
        return pd.DataFrame(columns=list(DELIVERY_PATH_COLUMNS))
    live = deliveries[~deliveries["replay"].astype(bool)]
    origins = log[["profile", "repository", "seq", "origin"]].drop_duplicates(
        ["profile", "repository", "seq"])
    joined = live.merge(origins, on=["profile", "repository", "seq"], how="inner")
    joined["subscriber_server"] = [params.server_of(s) for s in joined["subscriber"]]
    joined["origin_server"] = [params.server_of(str(o)) for o in joined["origin"]]
    joined = joined[joined["subscriber_server"].notna() & joined["origin_server"].notna()]
    joined["path"] = ["same replica" if a == b else "cross replica" for a, b in
                      zip(joined["subscriber_server"], joined["origin_server"], strict=True)]
    return joined[list(DELIVERY_PATH_COLUMNS)].reset_index(drop=True)


def _hit(window: dict[str, Any], server: str) -> bool:
    return window["target"] in (server, SHARED)


def breaker_isolated(params: ReplicasParams, frames: dict[str, pd.DataFrame]) -> CheckResult:
    """Every breaker opening falls in (or `breaker_grace_s` after) a fault on its server."""
    name = "breaker_isolated"
    breakers = frames.get("breakers", pd.DataFrame())
    windows = windows_of(frames)
    opened = (breakers[breakers["to"] == "open"].to_dict(orient="records")
              if not breakers.empty else [])
    grace = params.breaker_grace_s
    stray = [row for row in opened if not any(
        _hit(window, row["server"]) and window["start"] <= row["at_unix"] <= window["end"] + grace
        for window in windows)]
    return CheckResult.from_counterexample(
        name, stray, observed=f"{len(opened)} openings, {len(stray)} with no fault on their "
        "server", expected="every opening on a server with a fault on it",
        message=("a breaker opened on a server whose database link was fine: one replica's "
                 "trouble spread to another" if stray else
                 f"{len(opened)} breaker openings, each on the server a fault was on"))


def others_kept_serving(params: ReplicasParams, frames: dict[str, pd.DataFrame],
                        history: History) -> tuple[CheckResult, pd.DataFrame]:
    """While a link fault was on server X, the requests of the other servers' clients
    that completed within the window: answered, or troubled (a 5xx or no answer at an
    attempt, as errors_only_under_faults counts trouble); one row per window. Trouble on
    another server with no fault of its own at the time fails the check."""
    name = "others_kept_serving"
    windows = windows_of(frames)
    requests = [op for op in history.operations if op.attempt_outcomes]
    rows, failures = [], []
    for window in windows:
        if window["fault"] not in LINK_FAULTS:
            continue
        ok = troubled = 0
        for op in requests:
            server = params.server_of(op.client)
            end = op.complete_time or op.invoke_time
            if server in (None, window["target"]) or not window["start"] <= end <= window["end"]:
                continue
            bad = [outcome for outcome in op.attempt_outcomes if trouble(outcome)]
            if not bad:
                ok += 1
                continue
            own = (server, SHARED, client_group(op.client))
            if any(other["target"] in own and other["start"] - GRACE_S <= end
                   and op.invoke_time <= other["end"] + GRACE_S for other in windows):
                continue  # a fault of its own then: its server's, or its group's proxy
            troubled += 1
            failures.append({"window": window["fault_id"], "target": window["target"],
                             "client": op.client, "server": server,
                             "operation": op.operation, "attempts": list(op.attempt_outcomes)})
        rows.append({"fault_id": window["fault_id"], "fault": window["fault"],
                     "label": window["profile"], "target": window["target"],
                     "others_ok": ok, "others_failed": troubled})
    frame = pd.DataFrame(rows, columns=["fault_id", "fault", "label", "target", "others_ok",
                                        "others_failed"])
    served = int((frame["others_ok"] > 0).sum()) if not frame.empty else 0
    if failures:
        return CheckResult.from_counterexample(
            name, failures[:20], observed=f"{len(failures)} failed operations on other "
            "servers", expected="none", message="a fault on one replica's database link "
            "failed operations on another replica"), frame
    if not served:
        return CheckResult.not_reached(name, "no database-link fault window met an operation "
                                             "on another server"), frame
    return CheckResult(name, passed=True, observed=f"{served} of {len(frame)} link-fault "
                       "windows served by the other replicas, none failed", expected="none "
                       "failed", message="the other replicas kept serving"), frame


def declared_paths(params: ReplicasParams) -> list[DeclaredPath]:
    """The paths the study's faults must reach (syncbench.paths)."""
    def crossed(result: Any) -> int:
        paths = result.frames.get("delivery_paths", pd.DataFrame())
        return int((paths["path"] == "cross replica").sum()) if not paths.empty else 0

    def link_windows_served(result: Any) -> int:
        served = result.frames.get("served_during_faults", pd.DataFrame())
        return int((served["others_ok"] > 0).sum()) if not served.empty else 0

    def kinds(result: Any, *fault: str) -> int:
        windows = result.frames["windows"]
        return int(windows["fault"].isin(fault).sum()) if not windows.empty else 0

    return [
        DeclaredPath("delivered_across_replicas", "an event written through one replica "
                     "reached a subscriber of another (LISTEN/NOTIFY)", crossed),
        DeclaredPath("served_during_link_fault", "the other replicas answered while one "
                     "replica's database link was faulted", link_windows_served),
        DeclaredPath("database_restarted", "the database went down and came back",
                     lambda result: kinds(result, "db_restart")),
        DeclaredPath("replica_crashed", "a replica was killed and started again",
                     lambda result: kinds(result, "crash")),
    ]


def breaker_openings(frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    """How many times each server's breaker opened."""
    breakers = frames.get("breakers", pd.DataFrame())
    if breakers.empty:
        return {}
    return {str(k): int(v) for k, v in
            breakers[breakers["to"] == "open"].groupby("server").size().items()}


__all__ = ["breaker_isolated", "breaker_openings", "declared_paths", "delivery_paths",
           "others_kept_serving"]
