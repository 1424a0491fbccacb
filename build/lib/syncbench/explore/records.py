"""What a generated run records beside the History: rows of the checkers' frames.

The frames and their columns are the contract of lib/syncbench/checks (notes: contract
section 2); every frame here also carries `profile` (the network profile of the run), and
`observations` carries `step`, `kind` and `source` too. One `Recorder` per profile's run.

    observations   one row per task state seen in any HTTP reply (writes and reads)
    deliveries     one row per WebSocket event received (duplicates included)
    subscriptions  one row per subscribe / resume / unsubscribe, per repository
    change_log     the server's final log per repository
    final_states   each holder's (server, replicas) final tasks
    replica_syncs  each replica's state against the server's at every sync

Contents longer than `CONTENT_SHOWN` are kept as a surrogate (`shown_content`): their start,
length and digest. Equal contents give equal surrogates, so comparisons across frames hold,
and a run with maximal contents does not write megabytes of them per frame.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tasksync.models import Task

CONTENT_SHOWN = 256

OBSERVATION_COLUMNS = [
    "profile", "op_id", "step", "client", "operation", "kind", "repository",
    "requested_task_id", "task_id", "task_repository", "version", "deleted", "content",
    "status", "priority", "seq", "source", "invoke_time", "complete_time", "listing_complete",
    "origin"]
DELIVERY_COLUMNS = [
    "profile", "subscriber", "connection", "repository", "seq", "task_id", "version", "type",
    "replay", "received_time", "event_time", "latency_ms"]
SUBSCRIPTION_COLUMNS = [
    "profile", "subscriber", "connection", "repository", "action", "after", "time", "op_id",
    "earliest_seq"]
CHANGE_LOG_COLUMNS = [
    "profile", "repository", "seq", "task_id", "version", "type", "origin", "timestamp",
    "content", "status", "priority", "deleted"]
FINAL_STATE_COLUMNS = [
    "profile", "holder", "repository", "task_id", "version", "deleted", "content", "status",
    "priority"]
REPLICA_SYNC_COLUMNS = [
    "profile", "replica", "op_id", "time", "repository", "cursor", "matches_server",
    "differing_tasks", "started", "pending"]

# `source` of an observation: where in the reply the task state was ("stored_item": a batch
# item result with `replayed`, the stored result of the change's first application)
SOURCES = ("task", "current", "item", "stored_item", "change", "page")

FRAME_COLUMNS: dict[str, list[str]] = {
    "observations": OBSERVATION_COLUMNS,
    "deliveries": DELIVERY_COLUMNS,
    "subscriptions": SUBSCRIPTION_COLUMNS,
    "change_log": CHANGE_LOG_COLUMNS,
    "final_states": FINAL_STATE_COLUMNS,
    "replica_syncs": REPLICA_SYNC_COLUMNS,
}


def shown_content(content: str | None) -> str | None:
    """`content` as frames keep it: itself, or (when long) its start, length and digest."""
    if content is None or len(content) <= CONTENT_SHOWN:
        return content
    digest = hashlib.blake2b(content.encode(), digest_size=8).hexdigest()
    return f"{content[:40]}...[{len(content)} chars, blake2b {digest}]"


@dataclass
class Recorder:
    """The rows one profile's generated run recorded, by frame name (see FRAME_COLUMNS)."""

    profile: str
    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in FRAME_COLUMNS})

    def observe(self, *, op_id: int, step: int | None, client: str, operation: str,
                kind: str, write: bool, repository: str | None, requested_task_id: str | None,
                task: Task, invoke_time: float, seq: int | None = None,
                source: str = "task") -> dict[str, Any]:
        """Record one task state seen in a reply; the row (complete_time and
        listing_complete are filled when the op completes, see `complete`)."""
        row = {
            "profile": self.profile, "op_id": op_id, "step": step, "client": client,
            "operation": operation, "kind": "write" if write else "read",
            "repository": repository, "requested_task_id": requested_task_id,
            "task_id": task.id, "task_repository": task.repository, "version": task.version,
            "deleted": bool(task.deleted), "content": shown_content(task.content),
            "status": task.status, "priority": task.priority, "seq": seq, "source": source,
            "invoke_time": invoke_time, "complete_time": None, "listing_complete": False,
            "generated_kind": kind, "origin": task.origin,
        }
        self.rows["observations"].append(row)
        return row

    @staticmethod
    def complete(rows: Iterable[dict[str, Any]], complete_time: float | None,
                 listing_complete: bool = False) -> None:
        """Fill what is known once the op completed into its observation rows."""
        for row in rows:
            row["complete_time"] = complete_time
            row["listing_complete"] = listing_complete

    def add(self, frame: str, **row: Any) -> None:
        """One row of `frame` (its profile filled in)."""
        self.rows[frame].append({"profile": self.profile, **row})

    def frame(self, name: str) -> pd.DataFrame:
        """The rows of `name` as a frame with the contract's columns, in order."""
        return frames_of([self], name)


def frames_of(recorders: Iterable[Recorder], name: str) -> pd.DataFrame:
    """Frame `name` over several recorders (one per profile), the contract's columns first.

    `observations` keeps the op kind that generated it as `kind`'s neighbour
    `generated_kind`; `kind` is the contract's "write" | "read".
    """
    columns = list(FRAME_COLUMNS[name])
    rows = [row for recorder in recorders for row in recorder.rows[name]]
    extra = [column for row in rows[:1] for column in row if column not in columns]
    frame = pd.DataFrame(rows, columns=columns + extra)
    for column in ("seq", "version", "step", "op_id", "after", "connection", "cursor",
                   "differing_tasks"):
        if column in frame and frame[column].isna().any():
            frame[column] = frame[column].astype("Int64")
    return frame


__all__ = ["CHANGE_LOG_COLUMNS", "CONTENT_SHOWN", "DELIVERY_COLUMNS", "FINAL_STATE_COLUMNS",
           "FRAME_COLUMNS", "OBSERVATION_COLUMNS", "REPLICA_SYNC_COLUMNS", "Recorder",
           "SOURCES", "SUBSCRIPTION_COLUMNS", "frames_of", "shown_content"]
