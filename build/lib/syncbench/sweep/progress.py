"""Console progress of a sweep: one line per finished instance, with done/failed counts,
elapsed time and an estimate of what is left (mean instance time, `parallel` at once)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from statistics import fmean

from syncbench.sweep.report import FAIL, PASS, Finished
from syncbench.zoo.progress import clock_text


class SweepProgress:
    def __init__(self, planned: int, parallel: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.planned, self.parallel, self.clock = planned, max(1, parallel), clock
        self.started = clock()
        self.durations: list[float] = []
        self.failed = 0
        self.other = 0  # unknown, error, timeout

    def line(self, item: Finished, cell: str = "") -> str:
        """Record `item`; the line that says how it came out and how far the sweep is."""
        self.durations.append(item.duration_s)
        self.failed += item.status == FAIL
        self.other += item.status not in (PASS, FAIL)
        what = item.status.upper()
        if item.failed_checks:
            what += " by " + ", ".join(item.failed_checks)
        elif item.unknown_checks:
            what += ": " + ", ".join(item.unknown_checks)
        elif item.reason and item.status != PASS:
            what += f": {item.reason}"
        where = f"seed {item.seed}" + (f" [{cell}]" if cell else "")
        return f"  {where}: {what} ({item.duration_s:.1f} s; {self.timing()})"

    def timing(self) -> str:
        done = len(self.durations)
        left = self.planned - done
        eta = (clock_text(math.ceil(left / self.parallel) * fmean(self.durations))
               if self.durations else "?")
        return (f"{done}/{self.planned} done, {self.failed} failed"
                + (f", {self.other} not passed" if self.other else "")
                + f", {clock_text(self.clock() - self.started)} elapsed, ETA ~{eta}")


__all__ = ["SweepProgress"]
