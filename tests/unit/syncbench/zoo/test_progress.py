"""The zoo's console progress: bug i/n, study, elapsed, and an estimate of what is left."""

from __future__ import annotations

from syncbench.zoo.matrix import NO_BUG
from syncbench.zoo.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_names_the_bug_and_estimates_from_each_studys_mean() -> None:
    clock = Clock()
    progress = Progress([(NO_BUG, "sync"), (NO_BUG, "conflicts"), ("a", "sync"),
                         ("a", "conflicts"), ("b", "sync")], clock=clock)
    assert progress.starting(NO_BUG, "sync") == (
        "[no bug] sync: running (0/5 runs, 0:00 elapsed, ETA ?)")
    clock.now = 30.0
    assert progress.finished(NO_BUG, "sync", 30.0, "PASS") == (
        "[no bug] sync: PASS (30.0 s; 1/5 runs, 0:30 elapsed, ETA ~2:00)")
    clock.now = 40.0
    progress.finished(NO_BUG, "conflicts", 10.0, "PASS")
    # left: sync twice (30 s each), conflicts once (10 s)
    assert progress.remaining_s() == 70.0
    assert progress.starting("b", "sync") == (
        "[bug 2/2 b] sync: running (2/5 runs, 0:40 elapsed, ETA ~1:10)")
