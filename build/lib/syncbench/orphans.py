"""Child processes that die with their parent, so a killed kernel or test run leaves none.

Linux's PR_SET_PDEATHSIG sends the child SIGTERM when the thread that started it ends. The
stack starts its children from its event loop's worker threads, which live as long as the
loop, so a notebook kernel or test process that is killed takes its servers with it.
"""

from __future__ import annotations

import ctypes
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen that ties the child's life to ours (Linux only)."""
    return _set_parent_death_signal if sys.platform.startswith("linux") else None
