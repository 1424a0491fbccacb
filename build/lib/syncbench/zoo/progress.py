"""Console progress of a zoo run: which bug and study, time elapsed, and an estimate of what
is left (each study's mean duration so far, times the runs of it still to come)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from statistics import fmean

from syncbench.zoo.matrix import NO_BUG


class Progress:
    """Lines to print as a zoo run goes; `planned` is every (row, study) in run order, the
    baseline's row named NO_BUG."""

    def __init__(self, planned: Sequence[tuple[str, str]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.planned = list(planned)
        self.bugs = list(dict.fromkeys(row for row, _ in planned if row != NO_BUG))
        self.clock = clock
        self.started = clock()
        self.done: list[tuple[str, str]] = []
        self.durations: dict[str, list[float]] = {}

    def prefix(self, row: str, study: str) -> str:
        if row == NO_BUG:
            return f"[no bug] {study}"
        return f"[bug {self.bugs.index(row) + 1}/{len(self.bugs)} {row}] {study}"

    def starting(self, row: str, study: str) -> str:
        """The line for a study run that starts now."""
        return f"{self.prefix(row, study)}: running ({self.timing()})"

    def finished(self, row: str, study: str, duration_s: float, what: str) -> str:
        """Record a finished run; the line saying how it came out."""
        self.done.append((row, study))
        self.durations.setdefault(study, []).append(duration_s)
        return f"{self.prefix(row, study)}: {what} ({duration_s:.1f} s; {self.timing()})"

    def remaining_s(self) -> float | None:
        """Seconds the runs not yet finished should take; None before anything finished."""
        if not self.durations:
            return None
        overall = fmean(d for durations in self.durations.values() for d in durations)
        left = [cell for cell in self.planned if cell not in self.done]
        return sum(fmean(self.durations[study]) if study in self.durations else overall
                   for _, study in left)

    def timing(self) -> str:
        elapsed = clock_text(self.clock() - self.started)
        remaining = self.remaining_s()
        eta = "ETA ?" if remaining is None else f"ETA ~{clock_text(remaining)}"
        return f"{len(self.done)}/{len(self.planned)} runs, {elapsed} elapsed, {eta}"


def clock_text(seconds: float) -> str:
    """Seconds as m:ss, or h:mm:ss from an hour on."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
