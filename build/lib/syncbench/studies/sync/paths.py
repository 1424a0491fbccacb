"""The paths the sync study's faults must exercise (syncbench.paths), counted from its frames:
a run where one was never reached is UNKNOWN, not a pass."""

from __future__ import annotations

from typing import Any

from syncbench.paths import DeclaredPath
from syncbench.studies.sync.params import SyncParams


def retries_replayed(result: Any) -> int:
    """Writes sent again under their Idempotency-Key and answered (the stored reply)."""
    ops = result.frames["operations"]
    return int((ops["operation"].astype(str).str.startswith("retry_")
                & (ops["outcome"] == "ok")).sum())


def resumes_with_replay(result: Any) -> int:
    """Subscriber connections after a subscriber's first that replayed at least one event."""
    deliveries = result.frames["deliveries"]
    if deliveries.empty:
        return 0
    replayed = deliveries[deliveries["replay"].astype(bool)]
    firsts = deliveries.groupby("subscriber")["connection"].transform("min")
    later = replayed[replayed["connection"] > firsts[replayed.index]]
    return int(later.groupby(["subscriber", "connection"]).ngroups)


def resyncs(result: Any) -> int:
    """resync_required answers (a subscriber behind the pruned log) and replica reloads."""
    subscriptions = result.frames.get("subscriptions")
    answered = 0 if subscriptions is None or subscriptions.empty else int(
        (subscriptions["action"] == "resync").sum())
    syncs = result.frames["syncs"]
    reloads = int(syncs["resynced"].fillna(False).astype(bool).sum()) \
        if "resynced" in syncs else 0
    return answered + reloads


def syncs_refused_offline(result: Any) -> int:
    """Replica syncs that failed or went unanswered (a replica cut off)."""
    syncs = result.frames["syncs"]
    return 0 if syncs.empty else int((syncs["outcome"] != "ok").sum())


def sync_paths(params: SyncParams) -> list[DeclaredPath]:
    """What this run's faults must exercise: a subscriber cut off resumes with a replay; a
    generated run also has a cut-off replica's sync fail, retries under its keys and, with
    a short log, meets resync_required."""
    paths = [DeclaredPath("resumed_with_replay", "a subscriber reconnected and was replayed "
                          "what it missed", resumes_with_replay)]
    if params.generated:
        # a generated replica's offline burst syncs while cut off (the nominal plan's offline
        # window may meet no periodic sync, so it promises none)
        paths.append(DeclaredPath("sync_failed_offline", "a replica's sync failed while it "
                                  "was cut off", syncs_refused_offline))
        paths.append(DeclaredPath("retry_replayed", "a write retried under its "
                                  "Idempotency-Key, answered by the stored reply",
                                  retries_replayed))
        if params.log_retention:
            paths.append(DeclaredPath("resync_required", "a reader behind the pruned log "
                                      "told to resync, or a replica reloading", resyncs))
    return paths


__all__ = ["sync_paths"]
