"""Faults on the server process itself (embedded stacks only: the stack started it).

    pause   SIGSTOP, then SIGCONT when the window ends: the sockets stay open and the
            kernel still accepts connections, but nothing answers (a GC pause, a frozen VM):
            clients meet timeouts, not refusals

Crash (SIGKILL and restart) and graceful restart (SIGTERM) are the next kinds here.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from syncbench.nemesis.kinds import FaultError, FaultKind, register_fault

if TYPE_CHECKING:
    from syncbench.stack import Stack


def server_pid(stack: Stack, kind: str) -> int:
    """The embedded server's process id; FaultError when the stack did not start one."""
    server = getattr(stack, "server", None)
    pid = server.pid if server is not None else None
    if pid is None:
        raise FaultError(f"{kind} fault: needs the embedded server (a process this stack "
                         "started); an external server cannot be signalled")
    return pid


@register_fault
class PauseFault(FaultKind):
    """The server process stopped (SIGSTOP) for the window, then continued (SIGCONT)."""

    name = "pause"
    target_kind = "server"

    def label(self, options: Mapping[str, Any]) -> str:
        return "server paused"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        pid = server_pid(stack, self.name)
        os.kill(pid, signal.SIGSTOP)
        return pid

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        try:
            os.kill(int(handle), signal.SIGCONT)
        except ProcessLookupError:
            pass  # already gone: nothing left to continue


__all__ = ["PauseFault", "server_pid"]
