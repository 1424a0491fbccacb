"""Notebook kernels: Kernel > Interrupt ends a running study with one line, and stops what it
started. Without this the interrupt surfaces as a long traceback through asyncio, and the
event loop it cut never runs the stack's clean-up: the server and Toxiproxy go on running.

    kernel.quiet_interrupts()   # once, in a study notebook's set-up cell
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from syncbench.stack import stop_running_stacks

INTERRUPTED = (KeyboardInterrupt, asyncio.CancelledError)


def on_interrupt(shell: Any, etype: type, value: BaseException, tb: Any,
                 tb_offset: int | None = None) -> list[str]:
    """IPython's handler for INTERRUPTED: stop the stacks, say so in one line."""
    stopped = stop_running_stacks()
    what = (f"stopped the {stopped} stack{'s' if stopped != 1 else ''} it left running "
            "(server, Toxiproxy, clients)" if stopped else "what it started has stopped")
    print(f"interrupted: {what}; run the cell again to start over", file=sys.stderr)
    return []


def quiet_interrupts() -> bool:
    """Install on_interrupt in the running IPython kernel; False outside one."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc(INTERRUPTED, on_interrupt)
    _wake_for_signals()
    return True


WAKE_EVERY_S = 0.2
_waking: set[asyncio.AbstractEventLoop] = set()


def _wake_for_signals() -> None:
    """ipykernel turns SIGINT into cancelling the running cell from a Python-level signal
    handler, which runs only when the event loop wakes: a cell awaiting a long sleep or a
    quiet socket is interrupted only when that ends. A timer that wakes the loop every
    WAKE_EVERY_S bounds the wait."""
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        return
    if not loop.is_running() or loop in _waking:
        return
    _waking.add(loop)

    def tick() -> None:
        if not loop.is_closed():
            loop.call_later(WAKE_EVERY_S, tick)

    loop.call_later(WAKE_EVERY_S, tick)


__all__ = ["on_interrupt", "quiet_interrupts"]
