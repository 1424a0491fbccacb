"""SIGTERM handled as Ctrl-C: a run stopped by a CI job's timeout or `kill` still marks what
it stopped and writes its summary, index and JUnit report.

    with terminating_interrupts():
        run(options)        # SIGTERM raises Terminated (a KeyboardInterrupt) in here
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; handled wherever Ctrl-C is."""


def interrupt_name(exc: BaseException) -> str:
    """What stopped the run, for the summary and the terminal."""
    return "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C (SIGINT)"


@contextmanager
def terminating_interrupts() -> Iterator[None]:
    """Within the block SIGTERM raises Terminated in the main thread (elsewhere: no change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise Terminated(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["Terminated", "interrupt_name", "terminating_interrupts"]
