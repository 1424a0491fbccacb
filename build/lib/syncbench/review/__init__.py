"""Reviews across runs: `syncbench compare` (two runs, or two sets of repeats, side by side)."""

from syncbench.review.compare import Comparison, compare_runs, load_run

__all__ = ["Comparison", "compare_runs", "load_run"]
