"""Faults on client processes: a CLI replica (the real `tasksync` command) dying mid-sync.

    client_crash   during the window, the first `tasksync sync` of the target replica seen
                   talking to the server (a TCP connection of its process established), or
                   else that has run `after_s` seconds, is killed with SIGKILL (a phone
                   losing power in the middle of a sync). Its SQLite file is left as the
                   kill left it; the replica's next command runs on it again, as a
                   restarted app would.

The target is a client name (`k0`, ...) whose commands run through `run_cli` with the
stack's `client_commands[name]` (the explore driver's CliActor does). While the fault waits,
the target is in `stack.syncs_wanted`: the CliActor then syncs between its commands, as a
device syncs in the background, so that the crash meets a sync rather than waiting for the
workload to draw one (a 4 s window often met none). The kill shows in the
History as the sync op ending `info` with a negative exit code (killed by signal 9).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import psutil

from syncbench.nemesis.kinds import FaultError, FaultKind, number_option, register_fault

if TYPE_CHECKING:
    from syncbench.stack import Stack

WATCH_STEP_S = 0.01
CRASHED_COMMANDS = ("sync",)


@register_fault
class ClientCrashFault(FaultKind):
    """`after_s`: how long a sync that was not seen talking to the server runs before it is
    killed anyway (default 0.5 s: past the interpreter's start). A sync is killed as soon
    as it is connected: a LAN sync talks for tens of milliseconds of its ~0.5 s, and one
    killed at a fixed age had often finished (a 20-seed sweep left the path unreached on
    3 seeds)."""

    name = "client_crash"
    target_kind = "client"
    option_names = ("after_s",)

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        options = super().options(raw)
        return {"after_s": number_option(self.name, options, "after_s", 0.0, 60.0,
                                         default=0.5, unit=" of seconds")}

    def label(self, options: Mapping[str, Any]) -> str:
        return "client crashed"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        commands = stack.client_commands.get(target)
        if commands is None:
            known = ", ".join(sorted(stack.client_commands)) or "none yet"
            raise FaultError(f"client_crash fault: no CLI client {target!r} runs commands on "
                             f"this stack (clients: {known})")
        stack.syncs_wanted.add(target)  # a client that honours it syncs until the kill
        kill = asyncio.create_task(_kill_one_sync(commands, float(options["after_s"])))
        kill.add_done_callback(lambda _: stack.syncs_wanted.discard(target))
        return kill

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        stack.syncs_wanted.discard(target)
        handle.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await handle


async def _kill_one_sync(commands: list[Any], after_s: float) -> int:
    """Wait for a sync that talks to the server (or has run `after_s`) and is still
    running, SIGKILL it; its pid."""
    while True:
        now = time.monotonic()
        for running in list(commands):
            if (running.command[:1] == CRASHED_COMMANDS and running.process.returncode is None
                    and (now - running.began >= after_s or connected(running.process.pid))):
                with contextlib.suppress(ProcessLookupError):
                    running.process.kill()
                    return int(running.process.pid)
        await asyncio.sleep(WATCH_STEP_S)


def connected(pid: int) -> bool:
    """Whether process `pid` has an established TCP connection (False once it is gone)."""
    try:
        return any(c.status == psutil.CONN_ESTABLISHED
                   for c in psutil.Process(pid).net_connections(kind="tcp"))
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


__all__ = ["ClientCrashFault", "connected"]
