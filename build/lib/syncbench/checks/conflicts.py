"""conflicts_reported_once: each conflict is reported once, keeps both sides, and the right side won."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from syncbench.checks._common import as_record, first_few
from syncbench.verdict import CheckResult
from tasksync.clock import parse_rfc3339

# Who must win under each strategy (PROTOCOL.md, "Batch sync"); last_write_wins is decided
# per conflict from the two clocks. `merge` with no base available behaves as server_wins:
# a conflict that shows its base must be `merged`; one without (the server had none, or the
# record does not carry it) may be either.
WINNERS: dict[str, frozenset[str]] = {
    "server_wins": frozenset({"server"}),
    "client_wins": frozenset({"client"}),
    "merge": frozenset({"merged", "server"}),
    "manual": frozenset({"none"}),
}


def expected_winner(conflict: Any) -> frozenset[str]:
    """The winners `conflict`'s strategy allows (empty for an unknown strategy).

    last_write_wins: the side whose clock is later (client_updated_at against the server
    task's updated_at); ties, and clocks that cannot be read, go to the server. merge: the
    merge when the conflict shows the base it had, else the merge or the server.
    """
    record = as_record(conflict)
    strategy = record.get("strategy")
    if strategy == "last_write_wins":
        client_time = parse_rfc3339(str(record.get("client_updated_at") or ""))
        server_time = parse_rfc3339(_server_updated_at(record) or "")
        if client_time is not None and server_time is not None and client_time > server_time:
            return frozenset({"client"})
        return frozenset({"server"})
    if strategy == "merge" and record.get("base") is not None:
        return frozenset({"merged"})
    return WINNERS.get(str(strategy), frozenset())


def conflicts_reported_once(
    reported: Iterable[Any],
    server_log: Iterable[Any] | None = None,
    *,
    require_every_logged_reported: bool = True,
) -> CheckResult:
    """Proves that every conflict was reported exactly once, whole, with the right winner.

    `reported` are the conflicts from every sync response a client received (Conflict
    structs or dicts), `server_log` the server's stored conflicts. Broken when:
    - a conflict_id is reported more than once, or one change_id is reported under more
      than one conflict_id (a retried batch must not report a conflict again);
    - a logged conflict was never reported (unless `require_every_logged_reported` is
      False: a study whose sync responses can be lost should pass False, since a replayed
      batch reports nothing again), or a reported one is missing from the log;
    - a side is lost: `server` or `client` is empty;
    - the winner does not match the strategy (see `expected_winner`).

    The counterexample has one entry per offending conflict (or change id): its ids, strategy,
    winner, both clocks, how many times it was reported and the `violation`.
    """
    reports = [as_record(conflict) for conflict in reported]
    logged = [as_record(conflict) for conflict in server_log] if server_log is not None else None

    times_reported = Counter(report.get("conflict_id") for report in reports)
    first: dict[Any, dict[str, Any]] = {}
    for record in reports + (logged or []):
        first.setdefault(record.get("conflict_id"), record)
    logged_ids = {record.get("conflict_id") for record in logged} if logged is not None else None

    problems: dict[Any, list[str]] = defaultdict(list)
    for conflict_id, record in first.items():
        count = times_reported.get(conflict_id, 0)
        if count > 1:
            problems[conflict_id].append(f"reported {count} times")
        if count == 0 and require_every_logged_reported:
            problems[conflict_id].append("logged by the server but never reported")
        if count and logged_ids is not None and conflict_id not in logged_ids:
            problems[conflict_id].append("reported but absent from the server's conflict log")
        if _empty(record.get("server")):
            problems[conflict_id].append("server side not kept")
        if _empty(record.get("client")):
            problems[conflict_id].append("client side not kept")
        allowed = expected_winner(record)
        if record.get("winner") not in allowed:
            want = " or ".join(sorted(allowed)) or "nothing (unknown strategy)"
            problems[conflict_id].append(
                f"winner {record.get('winner')!r} under {record.get('strategy')}, expected {want}"
            )

    counterexample = [
        _entry(first[conflict_id], times_reported.get(conflict_id, 0), "; ".join(found))
        for conflict_id, found in sorted(problems.items(), key=lambda item: _order(item[0]))
    ]

    ids_by_change: dict[Any, set[Any]] = defaultdict(set)
    for record in first.values():
        ids_by_change[record.get("change_id")].add(record.get("conflict_id"))
    for change_id, ids in sorted(ids_by_change.items(), key=lambda item: _order(item[0])):
        if len(ids) > 1:
            counterexample.append(
                {
                    "change_id": change_id,
                    "conflict_ids": sorted(ids, key=_order),
                    "violation": f"change {change_id} reported as {len(ids)} conflicts",
                }
            )

    message = first_few(counterexample, lambda entry: (
        f"{entry.get('conflict_id', entry.get('change_id'))}: {entry['violation']}"))
    return CheckResult.from_counterexample(
        "conflicts_reported_once", counterexample,
        observed=f"{len(counterexample)} bad of {len(first)} conflicts ({len(reports)} reports)",
        expected="0 bad conflicts",
        message=message or "each conflict reported once, both sides kept, winner as its "
                           "strategy says")


def _order(value: Any) -> tuple[int, Any]:
    """Sort key for ids that are usually ints but may be anything: ints first, numerically."""
    if isinstance(value, int):
        return (0, value)
    return (1, str(value))


def _server_updated_at(record: dict[str, Any]) -> str | None:
    server = record.get("server")
    if server is None:
        return None
    value = as_record(server).get("updated_at")
    return None if value is None else str(value)


def _empty(side: Any) -> bool:
    if side is None:
        return True
    return not as_record(side)


def _entry(record: dict[str, Any], times: int, violation: str) -> dict[str, Any]:
    return {
        "conflict_id": record.get("conflict_id"),
        "change_id": record.get("change_id"),
        "task_id": record.get("task_id"),
        "repository": record.get("repository"),
        "strategy": record.get("strategy"),
        "winner": record.get("winner"),
        "client_updated_at": record.get("client_updated_at"),
        "server_updated_at": _server_updated_at(record),
        "times_reported": times,
        "violation": violation,
    }
