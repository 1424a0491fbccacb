"""Where each operation lies: the fault segment it belongs to and its period in it.

Segments come from the fault windows in the History (`fault_windows`), so a replayed or
hand-written schedule is labelled the same way as the study's own: a segment starts
`lead_seconds` before its window (never before the previous window ended) and lasts until
the next segment starts. An operation's period is where its invocation lies against its
segment's window: before, during, after (within the grace period), recovered.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from syncbench.studies.resilience.faults import STORAGE

BEFORE, DURING, AFTER, RECOVERED = "before", "during", "after", "recovered"
PROTECTION_PHASE = "storage-faults"
RATE_PHASE = "rate-limit"


@dataclass(frozen=True)
class Segment:
    """A stretch of the run devoted to one fault: from `start` (unix s), its window inside."""

    phase: str
    start: float
    fault_start: float | None = None
    fault_end: float | None = None


def _unix(value: pd.Timestamp) -> float:
    return float(value.timestamp())


def segments_from_windows(windows: pd.DataFrame, lead_seconds: float) -> list[Segment]:
    """One segment per fault window, in start order. A segment is named by its window's
    label (a storage window: "storage-faults"); a name seen before gains " #2", " #3"."""
    segments: list[Segment] = []
    seen: Counter[str] = Counter()
    previous_end = -math.inf
    for row in windows.sort_values("start", kind="stable").itertuples(index=False):
        name = PROTECTION_PHASE if row.fault == STORAGE else str(row.profile)
        seen[name] += 1
        if seen[name] > 1:
            name = f"{name} #{seen[name]}"
        start, end = _unix(row.start), _unix(row.end)
        begins = -math.inf if not segments else max(start - lead_seconds, previous_end)
        segments.append(Segment(name, begins, start, end))
        previous_end = max(previous_end, end)
    return segments


def period_of(time_s: float, segment: Segment, grace: float) -> str:
    """Where `time_s` lies relative to the segment's fault window."""
    if segment.fault_start is None or segment.fault_end is None:
        return DURING
    if time_s < segment.fault_start:
        return BEFORE
    if time_s < segment.fault_end:
        return DURING
    return RECOVERED if time_s >= segment.fault_end + grace else AFTER


def label(frame: pd.DataFrame, time_column: str, segments: Sequence[Segment],
          grace: float) -> pd.DataFrame:
    """`frame` with `phase` and `period` columns from the segment each row's time falls in
    (the first segment for a time before them all); one bisection per row."""
    ordered = sorted(segments, key=lambda s: s.start)
    starts = [s.start for s in ordered]
    phases, periods = [], []
    for value in frame[time_column].astype("float64"):
        if not ordered:
            phases.append("")
            periods.append(DURING)
            continue
        chosen = ordered[max(0, bisect.bisect_right(starts, value) - 1)]
        phases.append(chosen.phase)
        periods.append(period_of(float(value), chosen, grace))
    return frame.assign(phase=phases, period=periods)


def faults_met_by_requests(operations: pd.DataFrame, segments: Sequence[Segment]) -> set[str]:
    """The segments whose fault window had at least one request in flight: invoked before the
    window ended and not completed before it began (an operation still retrying counts).
    `operations` needs invoke_time and complete_time (unix s, NaN while pending)."""
    invoked = operations["invoke_time"].astype("float64")
    completed = operations["complete_time"].astype("float64").fillna(math.inf)
    return {segment.phase for segment in segments
            if segment.fault_start is not None and segment.fault_end is not None
            and bool(((invoked < segment.fault_end)
                      & (completed > segment.fault_start)).any())}


__all__ = ["AFTER", "BEFORE", "DURING", "PROTECTION_PHASE", "RATE_PHASE", "RECOVERED",
           "Segment", "faults_met_by_requests", "label", "period_of",
           "segments_from_windows"]
