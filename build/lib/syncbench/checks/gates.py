"""gates_answer_as_documented: bad input got the answer PROTOCOL.md documents, and lost nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from syncbench.checks._common import first_few, frame_rows, op_dict
from syncbench.checks.duplicates import content_key
from syncbench.history import History, Operation, operations_of
from syncbench.verdict import CheckResult

ANOMALIES: tuple[str, ...] = ("undocumented_answer", "refused_write_applied")
FAULT_GRACE_S = 1.0  # as errors_only_under_faults: a fault's effects around its window


def _met_a_fault(op: Operation, windows: pd.DataFrame | None,
                 group_of: Callable[[str], str | None] | None) -> bool:
    """Whether `op` overlaps (within FAULT_GRACE_S) a fault on the server or its group."""
    if windows is None or not len(windows):
        return False
    group = group_of(op.client) if group_of else None
    start, end = op.invoke_time, op.complete_time or op.invoke_time
    for row in windows.to_dict(orient="records"):
        if row["target"] not in ("server", group):
            continue
        began = pd.Timestamp(row.get("began", row["start"])).timestamp() - FAULT_GRACE_S
        if began <= end and start <= pd.Timestamp(row["end"]).timestamp() + FAULT_GRACE_S:
            return True
    return False


def gates_answer_as_documented(history: History | pd.DataFrame | Iterable[Operation],
                               final_states: Any = None, windows: pd.DataFrame | None = None,
                               group_of: Callable[[str], str | None] | None = None
                               ) -> CheckResult:
    """Proves that each gate probe got its documented answer and a refused write wrote nothing.

    Input: the run's History (its `gate` operations, as explore/gates.py records them:
    args `probe`, `status`, `error`, `field`, `as_documented`, `why`, `content_key`,
    `writes`; a WebSocket probe has `error` and `still_open` instead of a status), and the
    `final_states` frame (`holder`, `content`). A probe that missed its documented answer
    while it overlapped a fault on the server or its group (`windows`, `group_of`) is not
    checked; one that met a fault and still got its documented answer is. Anomalies (ANOMALIES):

        undocumented_answer    the status, error code or field differs from the documented
                               one (or a 200 body lacks what it must show)
        refused_write_applied  a write probe was refused as documented, yet a task whose
                               content starts with its key is in the server's final state

    The counterexample holds one entry per anomaly with `why` and the op. No probe
    answered: `unknown`.
    """
    written = _server_keys(final_states)
    entries: list[dict[str, Any]] = []
    # a probe that met a fault (its connection cut by a restart, say) is not held to the
    # documented answer: errors_only_under_faults judges what faults did. One that got the
    # documented answer all the same is judged (a study whose faults cover most of its run,
    # as the crash study's do, still learns its gates held)
    probes = [op for op in operations_of(history, only=("gate",)) if "as_documented" in op.args
              and (op.args["as_documented"] or not _met_a_fault(op, windows, group_of))]
    for op in probes:
        args = op.args
        if not args.get("as_documented"):
            entries.append({"anomaly": "undocumented_answer", "probe": args.get("probe"),
                            "why": f"op {op.op_id} ({args.get('probe')}): {args.get('why')}",
                            "ops": [op_dict(op)]})
        elif args.get("writes") and int(args.get("status") or 0) >= 400 \
                and args.get("content_key") in written:
            entries.append({"anomaly": "refused_write_applied", "probe": args.get("probe"),
                            "why": (f"op {op.op_id} ({args.get('probe')}) was refused with "
                                    f"{args['status']}, yet task {written[args['content_key']]}"
                                    f" holds its content key {args['content_key']}"),
                            "ops": [op_dict(op)]})
    answered = len(probes)
    if not answered:
        return CheckResult.not_reached("gates_answer_as_documented",
                                       "no gate probe got an answer")
    entries.sort(key=lambda entry: ANOMALIES.index(entry["anomaly"]))
    counts = ", ".join(f"{sum(e['anomaly'] == name for e in entries)} {name}"
                       for name in ANOMALIES)
    names = sorted({str(op.args.get("probe")) for op in probes})
    message = (f"every probe got its documented answer ({', '.join(names)}); refused "
               "writes wrote nothing"
               if not entries else first_few(entries, lambda e: f"{e['anomaly']}: {e['why']}"))
    return CheckResult.from_counterexample(
        "gates_answer_as_documented", entries,
        observed=f"{counts} in {answered} answered probes", expected="0 anomalies",
        message=message)


def _server_keys(final_states: Any) -> dict[str, str]:
    """content key -> task id, over the server's final tasks."""
    if final_states is None:
        return {}
    return {content_key(str(row["content"])): str(row["task_id"])
            for row in frame_rows(final_states)
            if row.get("holder") == "server" and row.get("content")}


__all__ = ["ANOMALIES", "gates_answer_as_documented"]
