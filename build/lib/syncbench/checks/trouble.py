"""errors_only_under_faults: a request met a server error, a broken connection or a retry
only where a fault the run put on explains it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from syncbench.checks._common import first_few, op_dict
from syncbench.history import History, Operation, operations_of
from syncbench.verdict import CheckResult

# seconds around a window where its effects may still show (a connection reset as the fault
# goes on, a reconnect racing the heal)
GRACE_S = 1.0


def errors_only_under_faults(history: History | pd.DataFrame | Iterable[Operation],
                             windows: pd.DataFrame, group_of: Callable[[str], str | None],
                             *, grace_s: float = GRACE_S,
                             server_of: Callable[[str], str | None] = lambda client: None,
                             ) -> CheckResult:
    """Proves that no request met trouble the run did not cause.

    Retries hide bugs: a server that now and then answers 500 or drops a connection looks
    healthy to a client that retries. So every attempt a tasksync client made (an
    operation's `attempt_outcomes`) is held to the faults the nemesis played: an attempt
    that ended in a 5xx status or without an answer (a connection error, a timeout) is
    explained only when the operation overlaps, within `grace_s`, a window (`windows`:
    target, start, end, as `nemesis.fault_windows` gives them) on its client's proxy group
    (`group_of(client)`), on the server it reaches (`server_of(client)`, "server" when
    None: a replica's name when servers share a database, its database link named alike)
    or on the database. 4xx answers are the protocol's refusals,
    judged by other checks. The counterexample holds one entry per unexplained operation,
    with its attempts. No operation with attempt data: `unknown`.
    """
    spans: dict[str, list[tuple[float, float]]] = {}
    for row in windows.to_dict(orient="records") if len(windows) else ():
        spans.setdefault(str(row["target"]), []).append(
            # from when the fault was asked for: it bites on its way on (a graceful stop)
            (pd.Timestamp(row.get("began", row["start"])).timestamp() - grace_s,
             pd.Timestamp(row["end"]).timestamp() + grace_s))
    judged = troubled = 0
    entries: list[dict[str, Any]] = []
    for op in operations_of(history):
        attempts = list(op.attempt_outcomes or ())
        if not attempts:
            continue
        judged += 1
        bad = [outcome for outcome in attempts if trouble(outcome)]
        if not bad:
            continue
        troubled += 1
        start, end = op.invoke_time, op.complete_time or op.invoke_time
        targets = [group_of(op.client), server_of(op.client) or "server", "database"]
        if any(lo <= end and start <= hi for target in targets if target
               for lo, hi in spans.get(target, ())):
            continue
        entries.append({"client": op.client, "attempts": attempts, "why": (
            f"op {op.op_id} ({op.client} {op.operation}) met {', '.join(bad)} with no fault "
            f"on {targets[0] or 'its group'} or "
            f"{'the server' if targets[1] == 'server' else targets[1]} then"),
            "ops": [op_dict(op)]})
    if not judged:
        return CheckResult.not_reached("errors_only_under_faults",
                                       "no operation recorded its attempts")
    message = ("every server error, broken connection and retry met a fault the run put on"
               if not entries else first_few(entries, lambda e: e["why"]))
    return CheckResult.from_counterexample(
        "errors_only_under_faults", entries,
        observed=(f"{len(entries)} unexplained of {troubled} operations that met trouble, "
                  f"{judged} with attempts"),
        expected="0 unexplained", message=message)


def trouble(outcome: str) -> bool:
    """A 5xx answer, or no answer at all (an exception's name); "ok" is a 2xx, a 4xx a
    refusal (tasksync.client.attempts.Attempt.outcome)."""
    if outcome == "ok":
        return False
    return int(outcome) >= 500 if outcome.isdigit() else True


__all__ = ["GRACE_S", "errors_only_under_faults", "trouble"]
