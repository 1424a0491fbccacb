"""A live progress line for long study cells in JupyterLab: the phase, operations done of
planned, elapsed time, ETA, and how many came out ok, failed or unknown so far. One line,
rewritten in place (tqdm), instead of lines that scroll away.

    with live_progress("lan: generated workload", total=len(schedule), history=history) as bar:
        ...  # bar.advance() after each operation

Shown only in an interactive kernel: under `syncbench run` (the executed notebook is a
record, not a console) and in plain Python it draws nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from syncbench.charts import STATIC_CHARTS_ENV
from syncbench.history import History


def interactive() -> bool:
    """In a Jupyter kernel a person is watching (not one the runner started)."""
    if os.environ.get(STATIC_CHARTS_ENV) == "1" or "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    return get_ipython() is not None


class LiveProgress:
    """Counts operations done and the outcomes the history recorded since it began."""

    def __init__(self, bar: tqdm, history: History | None) -> None:
        self.bar = bar
        self.history = history
        self._seen = len(history.operations) if history is not None else 0
        self.outcomes = {"ok": 0, "fail": 0, "info": 0}

    def advance(self, done: int = 1) -> None:
        if self.history is not None:
            for op in self.history.operations[self._seen:]:
                if op.outcome in self.outcomes:
                    self.outcomes[op.outcome] += 1
            self._seen = len(self.history.operations)
        self.bar.set_postfix(self.outcomes, refresh=False)
        self.bar.update(done)


@contextmanager
def live_progress(phase: str, total: int, history: History | None = None,
                  show: bool | None = None) -> Iterator[LiveProgress]:
    """A progress line for `phase` over `total` steps (drawn only when `show`, by default
    in an interactive kernel)."""
    shown = interactive() if show is None else show
    options: dict[str, Any] = {"total": total, "desc": phase, "unit": "op",
                               "disable": not shown, "mininterval": 0.5, "leave": True,
                               "file": sys.stderr, "dynamic_ncols": True}
    bar = tqdm(**options)
    try:
        yield LiveProgress(bar, history)
    finally:
        bar.close()


__all__ = ["LiveProgress", "interactive", "live_progress"]
