"""ResilienceResult: the StudyResult, plus the chart data its notebook draws."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from syncbench import stats
from syncbench.studies.resilience.timeline import BEFORE, DURING
from syncbench.study import StudyResult


@dataclass
class ResilienceResult(StudyResult):
    """Frames: operations, attempts, windows, breaker, deliveries, websocket,
    latency_percentiles. `started`/`ended` are unix times of the run."""

    started: float = 0.0
    ended: float = 0.0

    def retries_frame(self) -> pd.DataFrame:
        """One row per operation that reached the server: phase, retries (attempts - 1)."""
        ops = self.frame("operations")
        frame = ops[ops["attempts"].notna()]
        return frame.assign(retries=frame["attempts"].astype(int) - 1)[
            ["op_id", "phase", "period", "operation", "retries"]]

    def breaker_states(self) -> pd.DataFrame:
        """The breaker's state over time (closed at the start), for charts.breaker_timeline."""
        start = pd.DataFrame({"time": [pd.to_datetime(self.started, unit="s", utc=True)],
                              "state": ["closed"]})
        return pd.concat([start, self.frame("breaker")[["time", "state"]]], ignore_index=True)

    @property
    def end_time(self) -> pd.Timestamp:
        return pd.to_datetime(self.ended, unit="s", utc=True)


def latency_percentiles(operations: pd.DataFrame) -> pd.DataFrame:
    """p50/p90/p99 latency (ms) of operations invoked during each fault, and a baseline
    of those invoked before any fault of their segment."""
    ops = operations.dropna(subset=["latency_ms"])
    during = ops[ops["period"] == DURING]
    baseline = ops[ops["period"] == BEFORE].assign(phase="baseline")
    frame = pd.concat([baseline, during], ignore_index=True)
    return stats.percentiles_by(frame, "latency_ms", "phase")


__all__ = ["ResilienceResult", "latency_percentiles"]
