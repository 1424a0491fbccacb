"""Faults the Docker engine plays on a server container (stacks with target "container").

    container_pause   `docker pause` for the window, `docker unpause` at its end: every
                      process of the container frozen by the cgroup freezer (the sockets
                      stay open, nothing answers: clients meet timeouts, not refusals)
    container_kill    `docker kill` (SIGKILL, or the `signal` given: SIGTERM, SIGINT); at
                      the window's end `docker start` brings the same container back, on
                      its port and data, so the proxies (and every client) find it again

`crash`, `restart` and `pause` work on containers too (kill, docker stop, SIGSTOP of the
server's process); these two name what the engine does, and refuse a stack of processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from syncbench.nemesis.kinds import FaultError, FaultKind, register_fault, server_named

if TYPE_CHECKING:
    from syncbench.containers.server import TasksyncContainer
    from syncbench.stack import Stack

SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT")


def server_container(stack: Stack, kind: str, target: str) -> TasksyncContainer:
    """Server `target` of the stack as a container; FaultError for a stack of processes."""
    from syncbench.containers.server import TasksyncContainer

    server = getattr(stack, "servers", {}).get(server_named(stack, kind, target))
    if not isinstance(server, TasksyncContainer):
        raise FaultError(f"{kind} fault: needs the server in a container (target=container, "
                         "-p target=container for a study)")
    return server


@register_fault
class ContainerPauseFault(FaultKind):
    """The server's container paused (docker pause) for the window, then unpaused."""

    name = "container_pause"
    target_kind = "server"

    def label(self, options: Mapping[str, Any]) -> str:
        return "container paused"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        server = server_container(stack, self.name, target)
        return {"paused": await asyncio.to_thread(server.pause)}

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await asyncio.to_thread(server_container(stack, self.name, target).resume)

    def evidence(self, handle: Any) -> dict[str, Any]:
        # what the engine said right after the pause
        return {"container_paused": bool(handle["paused"])} if isinstance(handle, dict) else {}


@register_fault
class ContainerKillFault(FaultKind):
    """The server's container killed (docker kill) for the window, then started again."""

    name = "container_kill"
    target_kind = "server"
    option_names = ("signal",)

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        signal = super().options(raw).get("signal", "SIGKILL")
        if signal not in SIGNALS:
            raise FaultError(f"container_kill fault: signal must be one of "
                             f"{', '.join(SIGNALS)}, got {signal!r}")
        return {"signal": signal} if signal != "SIGKILL" else {}

    def label(self, options: Mapping[str, Any]) -> str:
        signal = options.get("signal", "SIGKILL")
        return "container killed" if signal == "SIGKILL" else f"container {signal}"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        server = server_container(stack, self.name, target)
        exit_code = await asyncio.to_thread(server.kill_with, options.get("signal", "SIGKILL"))
        return {"exit_code": exit_code}

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await stack.start_server_again(target)

    def evidence(self, handle: Any) -> dict[str, Any]:
        # the exit code the engine reported once the container had stopped (None: it was
        # not running when the kill came)
        if not isinstance(handle, dict):
            return {}
        return {"container_exited": handle["exit_code"] is not None,
                "exit_code": handle["exit_code"]}


__all__ = ["ContainerKillFault", "ContainerPauseFault", "server_container"]
