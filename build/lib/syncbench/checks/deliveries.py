"""subscribers_saw_every_event: each subscriber got its repositories' events, once, in order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from syncbench.verdict import CheckResult

DELIVERY_COLUMNS: tuple[str, ...] = ("subscriber", "repository", "seq", "received_time")


def subscribers_saw_every_event(
    deliveries: pd.DataFrame | Iterable[tuple[Any, ...] | Mapping[str, Any]],
    change_log: Mapping[str, Iterable[int]],
    *,
    subscriptions: Mapping[str, Mapping[str, int]] | None = None,
) -> CheckResult:
    """Proves that every subscriber saw every event of its repositories exactly once, in order.

    `deliveries` are rows (subscriber, repository, seq, received_time) in arrival order (a
    DataFrame with those columns, tuples or dicts; `received_time` is optional and, when
    given, orders the rows, ties keeping their given order). `change_log` lists each
    repository's seqs. `subscriptions` maps a subscriber to {repository: the seq it
    subscribed after}; without it, a subscriber is taken to have subscribed from 0 to the
    repositories it received from (a weaker claim: it cannot notice a repository that
    delivered nothing).

    As a client does, duplicates are dropped by seq (first arrival kept). What remains must
    be exactly the log's seqs after the subscribe point, ascending. The counterexample has
    one entry per (subscriber, repository) that breaks this: `missing` seqs, `out_of_order`
    adjacent pairs [earlier arrival, later arrival] whose seqs descend, and `unknown` seqs
    that are not in the log.
    """
    rows = _rows(deliveries)
    arrivals: dict[tuple[str, str], list[int]] = defaultdict(list)
    for subscriber, repository, seq in rows:
        arrivals[(subscriber, repository)].append(seq)

    if subscriptions is None:
        points = {key: 0 for key in arrivals}
    else:
        points = {
            (str(subscriber), str(repository)): int(after)
            for subscriber, repos in subscriptions.items()
            for repository, after in repos.items()
        }
    logs = {str(repo): sorted(set(seqs)) for repo, seqs in change_log.items()}

    counterexample: list[dict[str, Any]] = []
    missing_total = disorder_total = 0
    for subscriber, repository in sorted(points):
        after = points[(subscriber, repository)]
        seen = _first_arrivals(arrivals.get((subscriber, repository), []))
        log = logs.get(repository, [])
        known = set(log)
        expected = [seq for seq in log if seq > after]
        seen_set = set(seen)
        missing = [seq for seq in expected if seq not in seen_set]
        unknown = sorted(seq for seq in seen_set if seq not in known)
        # Events at or before the subscribe point were already seen; a client drops them.
        ordered = [seq for seq in seen if seq > after]
        out_of_order = [
            [first, second]
            for first, second in zip(ordered, ordered[1:], strict=False)
            if second < first
        ]
        if missing or out_of_order or unknown:
            missing_total += len(missing)
            disorder_total += len(out_of_order)
            counterexample.append(
                {
                    "subscriber": subscriber,
                    "repository": repository,
                    "after": after,
                    "missing": missing,
                    "out_of_order": out_of_order,
                    "unknown": unknown,
                }
            )

    observed = (
        f"{len(counterexample)} of {len(points)} subscriptions broken "
        f"({missing_total} missing, {disorder_total} out of order)"
    )
    message = "every subscriber saw each event of its repositories once, in seq order"
    if counterexample:
        message = "; ".join(
            f"{entry['subscriber']}/{entry['repository']}: missing {entry['missing'][:5]}, "
            f"out of order {entry['out_of_order'][:3]}, unknown {entry['unknown'][:5]}"
            for entry in counterexample[:5]
        )
    return CheckResult.from_counterexample(
        "subscribers_saw_every_event", counterexample,
        observed=observed, expected="0 broken subscriptions", message=message)


def _rows(
    deliveries: pd.DataFrame | Iterable[tuple[Any, ...] | Mapping[str, Any]],
) -> list[tuple[str, str, int]]:
    """(subscriber, repository, seq) in arrival order."""
    if isinstance(deliveries, pd.DataFrame):
        return _frame_rows(deliveries)
    records = [
        row if isinstance(row, Mapping) else dict(zip(DELIVERY_COLUMNS, row, strict=False))
        for row in deliveries
    ]
    indexed = list(enumerate(records))
    if indexed and all(row.get("received_time") is not None for _, row in indexed):
        indexed.sort(key=lambda item: (float(item[1]["received_time"]), item[0]))
    return [(str(row["subscriber"]), str(row["repository"]), int(row["seq"])) for _, row in indexed]


def _frame_rows(frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    """`_rows` for a DataFrame, a column at a time (a million deliveries is a normal run)."""
    if len(frame) and "received_time" in frame.columns and frame["received_time"].notna().all():
        # a stable sort keeps rows with the same time in their given order
        order = np.argsort(frame["received_time"].to_numpy(dtype="float64"), kind="stable")
        frame = frame.iloc[order]
    subscribers = frame["subscriber"].astype(str).tolist()
    repositories = frame["repository"].astype(str).tolist()
    seqs = frame["seq"].astype("int64").tolist()
    return list(zip(subscribers, repositories, seqs, strict=True))


def _first_arrivals(seqs: list[int]) -> list[int]:
    seen: set[int] = set()
    kept: list[int] = []
    for seq in seqs:
        if seq not in seen:
            seen.add(seq)
            kept.append(seq)
    return kept
