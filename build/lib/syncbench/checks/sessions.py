"""session_guarantees: each client's reads and writes keep the four session guarantees.

Terry et al. (1994, "Session guarantees for weakly consistent replicated data") and Jepsen
define them over one session; here a session is one `client` of the `observations` frame,
and op B comes after op A when B was invoked after A completed (`invoke_time` >
`complete_time`, wall clock). A task's version grows by one per applied write and a delete
leaves a tombstone with its own version, so "at least as new" means "version at least":

    read_your_writes     a read of task t after the client's own write of t (acknowledged at
                         version v) shows version >= v; a read that walked a complete
                         listing of t's repository (`listing_complete`) contains t unless the
                         client's newest write of t was a delete
    monotonic_reads      a read of t after the client has seen t at version v (a read, or a
                         change event) shows version >= v; a complete listing contains t
                         unless what the client saw was a tombstone
    monotonic_writes     a write of t after the client's own write of t at version v results
                         in version >= v (the second write is ordered after the first)
    writes_follow_reads  a write of t after the client has seen t at version v results in
                         version >= v (the write is ordered after what it read)

In all four, equal versions must also show the same state (content, deleted): one version
is one state. Adapted to this protocol:
- rows with a `seq` are change events, history rather than the task's current state (a
  page may stop before the task's latest event): they count as what the client has seen,
  and are never themselves checked;
- a write reply that repeats a state the client's own earlier write was acknowledged with
  (same version and state) is an idempotent replay (a re-sent batch item gets its stored
  result), not a violation of monotonic_writes or writes_follow_reads;
- a task absent from a complete listing is excused when a deletion of it at a higher
  version is known: a deleted row in any client's observations, or, when `change_log` is
  given, a deleted event there (or in `tombstones`, when a short log was pruned). Pass `change_log` when deletes can end `info` (their reply,
  and so their row, lost), else such a delete makes a false absence;
- an empty listing leaves no row, so only listings that returned something are seen;
- the reply to a write re-sent with its Idempotency-Key (an operation named `retry_*`) may
  be the stored reply of the first send (PROTOCOL.md: same status and body), a state as of
  then: its read rows (an error reply's `current`) are left out, as the first send's are;
  so is a batch item's result replayed by its change id (`source` "stored_item"): the
  result of the change's first application, whose own reply may never have arrived (a
  500 or a reset after the commit), so no earlier acknowledged write excuses it. The write
  row of such a re-sent write may be that stored reply too: older than what the client has
  since written or seen, it is excused when it repeats a state the client saw at that
  version (the first send's own reply was lost; a sweep of 20 seeds met it).

Each failure is one counterexample entry: the client, the task, `why`, and the two `rows`
that show it (for an absence, the write or read, and the listing op it is missing from);
one entry per (client, task), all of them counted in `observed`. A guarantee with nothing
to check (no client read a task after writing it, ...) is `unknown`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from syncbench.checks._common import first_few, frame_rows
from syncbench.verdict import CheckResult

GUARANTEES: tuple[str, ...] = (
    "read_your_writes", "monotonic_reads", "monotonic_writes", "writes_follow_reads")

_NOTHING_TO_CHECK = {
    "read_your_writes": "no client read a task (or listed its repository completely) after "
                        "its own acknowledged write of it",
    "monotonic_reads": "no client read a task again after it had seen it",
    "monotonic_writes": "no client wrote a task again after its own acknowledged write of it",
    "writes_follow_reads": "no client wrote a task after it had seen it",
}

Row = dict[str, Any]


def session_guarantees(observations: Any, *, change_log: Any = None,
                       tombstones: Any = None) -> dict[str, CheckResult]:
    """The four session guarantees (GUARANTEES, in order) over `observations`, per client.

    `tombstones`: more rows that show a task deleted at a version (a subscriber's
    task_deleted deliveries, the server's final states), for deletes a pruned change log
    no longer holds."""
    rows = [row for row in frame_rows(observations, ("op_id", "version", "seq"))
            if row.get("version") is not None and row.get("task_id") is not None
            and not _stored_reply(row)]
    deleted_at = _deletions(rows, change_log, tombstones)
    found = {name: _Found() for name in GUARANTEES}
    ops: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for row in rows:
        ops[(str(row["client"]), row["op_id"])].append(row)
    sessions: dict[str, list[list[Row]]] = defaultdict(list)
    for (client, _), op_rows in ops.items():
        sessions[client].append(op_rows)
    for op_list in sessions.values():
        _Session(found, deleted_at).run(op_list)
    return {name: found[name].result(name) for name in GUARANTEES}


@dataclass
class _Found:
    checked: int = 0
    violations: int = 0
    witnesses: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, earlier: Row, later: Row, why: str) -> None:
        self.violations += 1
        key = (str(later["client"]), str(earlier["task_id"]))
        self.witnesses.setdefault(key, {"client": key[0], "task_id": key[1], "why": why,
                                        "rows": [earlier, later]})

    def result(self, name: str) -> CheckResult:
        if not self.checked:
            return CheckResult.not_reached(name, _NOTHING_TO_CHECK[name])
        entries = list(self.witnesses.values())
        message = (f"{name} held for every client" if not entries else
                   first_few(entries, lambda e: f"{e['client']}: {e['why']}"))
        return CheckResult.from_counterexample(
            name, entries, observed=f"{self.violations} violations in {self.checked} checks",
            expected="0 violations", message=message)


class _Session:
    """One client's ops, swept in time: each op is checked against what the ops that
    completed before its invocation taught the client."""

    def __init__(self, found: dict[str, _Found], deleted_at: dict[str, int]) -> None:
        self.found = found
        self.deleted_at = deleted_at
        self.wrote: dict[str, Row] = {}      # task -> own write with the highest version
        self.seen: dict[str, Row] = {}       # task -> read or event with the highest version
        self.own_states: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.known_states: dict[tuple[str, int], tuple[Any, Any]] = {}  # any row it saw
        self.written_in: dict[str, set[str]] = defaultdict(set)   # repository -> tasks
        self.seen_in: dict[str, set[str]] = defaultdict(set)

    def run(self, ops: list[list[Row]]) -> None:
        # (time, 0 = check at invocation | 1 = learn at completion): at equal times the
        # check goes first, so an op learns only from ops completed strictly before it began
        steps: list[tuple[float, int, int]] = []
        for index, op in enumerate(ops):
            steps.append((min(float(r["invoke_time"]) for r in op), 0, index))
            done = [r["complete_time"] for r in op if r.get("complete_time") is not None]
            if done:
                steps.append((max(float(t) for t in done), 1, index))
        for _, learn, index in sorted(steps):
            (self.learn if learn else self.check)(ops[index])

    def check(self, op: list[Row]) -> None:
        for row in op:
            if row.get("seq") is not None:
                continue
            task = str(row["task_id"])
            if row["kind"] == "read":
                self.compare("read_your_writes", self.wrote.get(task), row, replay_ok=False)
                self.compare("monotonic_reads", self.seen.get(task), row, replay_ok=False)
            elif row["kind"] == "write":
                self.compare("monotonic_writes", self.wrote.get(task), row, replay_ok=True)
                self.compare("writes_follow_reads", self.seen.get(task), row, replay_ok=True)
        listing = [row for row in op if row.get("listing_complete") and row["kind"] == "read"]
        if listing:
            self.absent("read_your_writes", self.wrote, self.written_in, listing)
            self.absent("monotonic_reads", self.seen, self.seen_in, listing)

    def compare(self, name: str, earlier: Row | None, row: Row, *, replay_ok: bool) -> None:
        if earlier is None:
            return
        self.found[name].checked += 1
        task, version, known = str(row["task_id"]), row["version"], earlier["version"]
        if version > known or (version == known and _state(row) == _state(earlier)):
            return
        if replay_ok and self.own_states.get((task, version)) == _state(row):
            return
        if replay_ok and _resent(row) and self.known_states.get((task, version)) == _state(row):
            return  # the stored reply of a first send whose own reply never came
        why = (f"{task} at version {version} after version {known} ({earlier['kind']} of "
               f"op {earlier['op_id']})" if version < known else
               f"{task} at version {version} with another state than op {earlier['op_id']}'s")
        self.found[name].add(earlier, row, why)

    def absent(self, name: str, known: dict[str, Row], known_in: dict[str, set[str]],
               listing: list[Row]) -> None:
        repository = str(listing[0]["repository"])
        listed = {str(row["task_id"]) for row in listing}
        for task in known_in.get(repository, ()):
            earlier = known[task]
            if earlier.get("deleted"):
                continue
            self.found[name].checked += 1
            if task in listed or self.deleted_at.get(task, -1) > earlier["version"]:
                continue
            first = listing[0]
            witness = {key: first.get(key) for key in (
                "op_id", "client", "operation", "kind", "repository", "invoke_time",
                "complete_time", "listing_complete")}
            witness["tasks_listed"] = len(listed)
            self.found[name].add(earlier, witness, (
                f"{task} (version {earlier['version']}, op {earlier['op_id']}) missing from "
                f"the complete listing of {repository} in op {first['op_id']}"))

    def learn(self, op: list[Row]) -> None:
        for row in op:
            task, version = str(row["task_id"]), row["version"]
            self.known_states[(task, version)] = _state(row)
            repository = str(row.get("task_repository") or row["repository"])
            if row["kind"] == "write" and row.get("seq") is None:
                store, index = self.wrote, self.written_in
                self.own_states[(task, version)] = _state(row)
            else:
                store, index = self.seen, self.seen_in
            if task not in store or version > store[task]["version"]:
                store[task] = row
            index[repository].add(task)


def _resent(row: Row) -> bool:
    """A row of a write re-sent with its Idempotency-Key (an operation named `retry_*`)."""
    return str(row.get("operation", "")).startswith("retry_")


def _stored_reply(row: Row) -> bool:
    """A read row of a write re-sent with its key (possibly the first send's stored reply),
    or a batch item's stored result (`source` "stored_item": replayed by its change id)."""
    if row.get("source") == "stored_item":
        return True
    return row.get("kind") == "read" and str(row.get("operation", "")).startswith("retry_")


def _state(row: Row) -> tuple[Any, Any]:
    return (row.get("content"), bool(row.get("deleted")))


def _deletions(rows: list[Row], *frames: Any) -> dict[str, int]:
    """task -> the highest version at which it is known deleted."""
    deleted_at: dict[str, int] = {}
    known = [row for frame in frames if frame is not None
             for row in frame_rows(frame, ("version",))]
    for row in [*rows, *known]:
        if row.get("deleted") or row.get("type") == "task_deleted":
            task, version = str(row["task_id"]), int(row["version"])
            deleted_at[task] = max(version, deleted_at.get(task, version))
    return deleted_at
