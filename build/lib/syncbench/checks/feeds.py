"""change_feed: every subscriber got the events it was due, once, in order (Jepsen's log checks).

Inputs are the recorded frames (DataFrames or iterables of dicts): `deliveries` (subscriber,
connection, repository, seq, task_id, version, type, replay, received_time), `subscriptions`
(subscriber, connection, repository, action, after, time) and `change_log` (repository, seq,
task_id, version, type, ...: the server's final log).

What is due. Per (subscriber, repository) the subscribe and resume rows, in time order, open
intervals; an interval lives on its connection and owes the log's events with seq in
(after, hi], in seq order, where `after` is the row's position ("the last seq I have seen"):
- the subscriber's last interval, never unsubscribed, was open at the final drain:
  hi = the log's last seq (everything after its position is due);
- an interval followed by a `resume` (not ended by an unsubscribe first): a resume claims
  continuity, so hi = max(highest seq received in the interval, the resume's `after`): a
  resume past what was received skips events, and they are due in the interval it ended;
- otherwise (ended by an unsubscribe, or followed by a fresh `subscribe`, which may pick
  any position, e.g. after a resync_required): hi = the highest seq received in it (what
  was in flight at the end is not owed).
A connection whose deliveries start before its subscribe row's time counts them in its first
interval; events the log no longer holds (pruned) are never due, but a `resync` row (the
server's resync_required) must then end the interval: an interval whose first delivery
skips seqs the log no longer holds, with no resync on its connection, is a `gap` (pruned).
A `resync` row ends the intervals of its connection like an unsubscribe.

Anomalies, named as Jepsen's queue and Kafka checkers name them:
    lost          due, never received by the subscriber, though it received a later seq
                  of the repository in that interval or after it
    never_seen    due, never received, and nothing later received (missing at the drain)
    gap           skipped when due: a later seq arrived first in the interval's connection;
                  `filled` says whether it arrived afterwards (a lost event skipped in a
                  connection is a gap too, as in Jepsen's poll-skip)
    out_of_order  a seq below the highest already received in the same connection
    duplicated    a seq received twice in one connection, or received in an interval whose
                  `after` is at or past it (the subscriber declared it seen)
    unexpected    a delivery the log contradicts (seq past its end, or another task or
                  version at that seq) or on a connection with no subscription to it
A redelivery on a new connection of a seq above that connection's `after` is at-least-once
delivery, not a duplicate. The counterexample holds entries grouped by anomaly, each with
`why` and the `rows` that show it (at most `shown` per anomaly); `observed` counts them all.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from syncbench.checks._common import first_few, frame_rows
from syncbench.verdict import CheckResult

ANOMALIES: tuple[str, ...] = (
    "lost", "never_seen", "gap", "out_of_order", "duplicated", "unexpected")

Row = dict[str, Any]


@dataclass
class _Interval:
    subscription: Row
    after: int
    deliveries: list[Row] = field(default_factory=list)
    ended: bool = False            # by an unsubscribe (or a resync_required) on its connection
    resynced: bool = False         # the server said resync_required on its connection
    next_resume: Row | None = None  # the resume that followed it, when one did
    highest: Row | None = None     # the delivery with the highest seq above `after`


def change_feed(deliveries: Any, subscriptions: Any, change_log: Any, *,
                shown: int = 20) -> CheckResult:
    """`change_feed` over every subscriber and repository (see the module docstring)."""
    subs = frame_rows(subscriptions, ("connection", "after"))
    if not subs:
        return CheckResult.not_reached("change_feed", "no subscriber subscribed")
    log: dict[str, dict[int, Row]] = defaultdict(dict)
    for row in frame_rows(change_log, ("seq", "version")):
        log[str(row["repository"])][row["seq"]] = row
    seqs = {repo: sorted(events) for repo, events in log.items()}
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in ANOMALIES}

    intervals = _intervals(subs)
    by_connection: dict[tuple[str, str, Any], list[_Interval]] = defaultdict(list)
    for (subscriber, repository), chain in intervals.items():
        for interval in chain:
            by_connection[(subscriber, repository, interval.subscription["connection"])] \
                .append(interval)
    for row in sorted(frame_rows(deliveries, ("connection", "seq", "version")),
                      key=lambda r: float(r.get("received_time") or 0.0)):
        mine = by_connection.get((str(row["subscriber"]), str(row["repository"]),
                                  row["connection"]), [])
        if not mine:
            found["unexpected"].append(_entry("no subscription on this connection", [row]))
            continue
        # the interval of this connection whose subscription came last before the delivery
        starts = [float(i.subscription["time"]) for i in mine] if len(mine) > 1 else [0.0]
        index = bisect_right(starts, float(row.get("received_time") or 0.0)) - 1
        mine[max(0, index)].deliveries.append(row)

    due_total = 0
    for (_, repository), chain in intervals.items():
        due_total += _check_chain(chain, log.get(repository, {}), seqs.get(repository, []),
                                  found)
    delivered = sum(len(i.deliveries) for chain in intervals.values() for i in chain)
    if not due_total and not delivered:
        return CheckResult.not_reached("change_feed", "no event was due to any subscriber")
    counts = ", ".join(f"{len(found[name])} {name}" for name in ANOMALIES)
    entries = [{**entry, "anomaly": name} for name in ANOMALIES for entry in found[name][:shown]]
    message = ("every subscriber got each due event once, in seq order" if not entries else
               first_few(entries, lambda e: f"{e['anomaly']}: {e['why']}"))
    return CheckResult.from_counterexample(
        "change_feed", entries,
        observed=f"{counts} ({due_total} due events, {len(intervals)} subscriber feeds)",
        expected="no anomalies", message=message)


def _intervals(subs: list[Row]) -> dict[tuple[str, str], list[_Interval]]:
    """(subscriber, repository) -> its intervals, in time order."""
    chains: dict[tuple[str, str], list[_Interval]] = defaultdict(list)
    ordered = sorted(enumerate(subs), key=lambda item: (float(item[1]["time"]), item[0]))
    for _, row in ordered:
        chain = chains[(str(row["subscriber"]), str(row["repository"]))]
        if row["action"] in ("unsubscribe", "resync"):
            for interval in chain:
                if interval.subscription["connection"] == row["connection"]:
                    interval.ended = True
                    interval.resynced = interval.resynced or row["action"] == "resync"
            continue
        if chain and row["action"] == "resume" and not chain[-1].ended:
            chain[-1].next_resume = row
        chain.append(_Interval(row, int(row.get("after") or 0)))
    return chains


def _check_chain(chain: list[_Interval], log: dict[int, Row], seqs: list[int],
                 found: dict[str, list[dict[str, Any]]]) -> int:
    """Record one (subscriber, repository)'s anomalies; returns how many events were due."""
    receipts: dict[int, list[tuple[int, int, Row]]] = defaultdict(list)
    gaps: list[tuple[int, int, int, Row, _Interval]] = []
    for number, interval in enumerate(chain):
        _scan(number, interval, log, seqs, receipts, gaps, found)
    for number, position, seq, skipper, interval in gaps:
        filled = next((row for n, p, row in receipts.get(seq, ())
                       if (n, p) > (number, position)), None)
        found["gap"].append(_entry((
            f"seq {seq} skipped: {skipper['seq']} arrived first on connection "
            f"{skipper['connection']}" + ("" if filled else ", never filled")),
            [interval.subscription, skipper, *([filled] if filled else [])],
            seq=seq, filled=filled is not None))
    later: list[Row | None] = [interval.highest for interval in chain]
    for number in range(len(chain) - 2, -1, -1):   # the highest delivery from here on
        if later[number] is None or (later[number + 1] is not None
                                     and later[number + 1]["seq"] > later[number]["seq"]):
            later[number] = later[number + 1]
    due = 0
    missing: set[int] = set()
    for number, interval in enumerate(chain):
        top = interval.highest["seq"] if interval.highest is not None else interval.after
        if number == len(chain) - 1 and not interval.ended:
            top = seqs[-1] if seqs else 0
        elif interval.next_resume is not None:
            top = max(top, int(interval.next_resume.get("after") or 0))
        for seq in seqs[bisect_right(seqs, interval.after):bisect_right(seqs, top)]:
            due += 1
            if seq in receipts or seq in missing:
                continue
            missing.add(seq)
            rows = [interval.subscription, log[seq]]
            above = later[number]
            if above is not None and above["seq"] > seq:
                rows.append(above)
                if interval.next_resume and seq <= int(interval.next_resume["after"] or 0):
                    rows.append(interval.next_resume)
                found["lost"].append(_entry(f"seq {seq} never received, though "
                                            f"{rows[2]['seq']} was", rows, seq=seq))
            else:
                found["never_seen"].append(_entry(f"seq {seq} never received, nor any "
                                                  "after it", rows, seq=seq))
    return due


def _scan(number: int, interval: _Interval, log: dict[int, Row], seqs: list[int],
          receipts: dict[int, list[tuple[int, int, Row]]],
          gaps: list[tuple[int, int, int, Row, _Interval]],
          found: dict[str, list[dict[str, Any]]]) -> None:
    """One interval's deliveries in arrival order: duplicates, disorder, skips, strangers."""
    first: dict[int, Row] = {}
    highest: Row | None = None
    for position, row in enumerate(interval.deliveries):
        seq = row["seq"]
        event = log.get(seq)
        if (event is None and seqs and seq > seqs[-1]) or (event is not None and (
                str(event["task_id"]) != str(row["task_id"])
                or event["version"] != row["version"])):
            found["unexpected"].append(_entry(f"seq {seq} is not the log's event",
                                              [row, *([event] if event else [])]))
        if seq in first:
            found["duplicated"].append(_entry(f"seq {seq} twice on connection "
                                              f"{row['connection']}", [first[seq], row]))
            continue
        first[seq] = row
        earlier = [r for _, _, r in receipts.get(seq, ())[:1]]
        receipts[seq].append((number, position, row))
        if seq <= interval.after:
            found["duplicated"].append(_entry(f"seq {seq} delivered after a subscription "
                                              f"past it (after={interval.after})",
                                              [interval.subscription, *earlier, row]))
            continue
        if highest is not None and seq < highest["seq"]:
            found["out_of_order"].append(_entry(f"seq {seq} after {highest['seq']} on "
                                                f"connection {row['connection']}",
                                                [highest, row]))
            continue
        if highest is None and not interval.resynced and seq > interval.after + 1 and (
                seqs and seqs[0] > interval.after + 1):
            # the log no longer holds what came right after the position (pruned), and the
            # server replayed from later on instead of saying resync_required
            found["gap"].append(_entry(
                f"seqs {interval.after + 1}..{seq - 1} skipped (pruned from the log) without "
                f"resync_required on connection {row['connection']}",
                [interval.subscription, row], seq=interval.after + 1, filled=False,
                pruned=True))
        floor = interval.after if highest is None else highest["seq"]
        for skipped in seqs[bisect_right(seqs, floor):bisect_left(seqs, seq)]:
            gaps.append((number, position, skipped, row, interval))
        highest = row
    interval.highest = highest


def _entry(why: str, rows: list[Row], **extra: Any) -> dict[str, Any]:
    """An anomaly's entry; rows[0] (a subscription or delivery) names the feed."""
    return {"anomaly": "", "subscriber": rows[0].get("subscriber"),
            "repository": rows[0].get("repository"), "why": why, **extra, "rows": rows}
