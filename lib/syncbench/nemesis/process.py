"""Faults on the server process itself (embedded stacks only: the stack started it).

    crash     SIGKILL (no shutdown code runs, requests in flight get no answer; `hold_ms`
              slows storage first so that some are); at the window's end the server starts
              again on the same database and port, so the proxies, and through them every
              client, find it again by themselves
    restart   SIGTERM, a graceful shutdown (WebSocket clients are closed with 1012, requests
              in flight finish); at the window's end it starts again, as after a crash
    pause     SIGSTOP, then SIGCONT when the window ends: the sockets stay open and the
              kernel still accepts connections, but nothing answers (a GC pause, a frozen VM):
              clients meet timeouts, not refusals
    clock     the server's wall clock `offset_s` off the real one, and/or drifting `drift`
              seconds per second, through the real libfaketime (syncbench.fake_clock; the
              stack must be started with fake_clock=True); back to the real time at the end
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncbench.fake_clock import MAX_OFFSET_S, ServerClock
from syncbench.nemesis.kinds import (
    FaultError,
    FaultKind,
    number_option,
    register_fault,
    server_named,
)
from tasksync.clock import parse_rfc3339

if TYPE_CHECKING:
    from syncbench.stack import Stack

# How closely the server's clock must follow a new offset before the fault counts as on
# (its /health time has microseconds; the request's own round trip is well under this).
CLOCK_TOLERANCE_S = 0.25
CLOCK_SETTLE_S = 5.0  # deadline for the server to show a new offset
DRIFT_STEP_S = 0.1  # a drifting clock is moved this often
HOLD_DEADLINE_S = 3.0  # a held crash waits at most this long for a write in flight


def server_pid(stack: Stack, kind: str, target: str = "server") -> int:
    """The process id of embedded server `target` ("server", or replica "server-N");
    FaultError when the stack did not start it."""
    server = getattr(stack, "servers", {}).get(server_named(stack, kind, target))
    pid = server.pid if server is not None else None
    if pid is None:
        raise FaultError(f"{kind} fault: needs the embedded server (a process this stack "
                         "started); an external server cannot be signalled")
    return pid


@register_fault
class CrashFault(FaultKind):
    """The server killed (SIGKILL) for the window, then started again on its database.

    `hold_ms` (default 0): first make every storage call that much slower and wait until
    the server holds a write it has not answered (its `tasksync_writes_in_flight` gauge,
    at most HOLD_DEADLINE_S), so that it dies between a write's arrival and its answer,
    which a random instant may miss."""

    name = "crash"
    target_kind = "server"
    option_names = ("hold_ms",)

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        hold = number_option(self.name, super().options(raw), "hold_ms", 0.0, 5000.0)
        return {"hold_ms": hold} if hold else {}

    def label(self, options: Mapping[str, Any]) -> str:
        return "server crashed"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        server_pid(stack, self.name, target)
        hold = float(options.get("hold_ms", 0.0))
        held = 0.0
        if hold:
            await stack.set_storage_faults(delay_ms=hold, server=target)  # gone with it
            await asyncio.sleep(hold / 1000)
            held = await _writes_in_flight(stack, target, deadline_s=HOLD_DEADLINE_S)
        return {"killed": await stack.crash_server(target), "writes_in_flight": held}

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await stack.start_server_again(target)

    def evidence(self, handle: Any) -> dict[str, Any]:
        if not isinstance(handle, dict):
            return {}
        # the server's own count of writes it held unanswered, read just before the kill
        # (a write is held hold_ms by then: it was still in flight when the kill came)
        return {"server_killed": bool(handle["killed"]),
                "writes_in_flight_at_kill": int(handle.get("writes_in_flight", 0))}


async def _writes_in_flight(stack: Stack, target: str, deadline_s: float) -> float:
    """Wait until the server holds a write it has not answered (its /metrics gauge), at
    most `deadline_s`; how many it held then (0: none came; the kill comes either way: a
    write in flight is then not promised, and the crash study's path count says so)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        held = await stack.writes_in_flight(target)
        if held >= 1:
            return held
        await asyncio.sleep(0.005)
    return 0.0


@register_fault
class RestartFault(FaultKind):
    """The server stopped gracefully (SIGTERM) for the window, then started again."""

    name = "restart"
    target_kind = "server"

    def label(self, options: Mapping[str, Any]) -> str:
        return "server restarting"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        server_pid(stack, self.name, target)
        was_running = stack.servers[target].running
        await stack.stop_server(target)
        return {"stopped": was_running}

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await stack.start_server_again(target)

    def evidence(self, handle: Any) -> dict[str, Any]:
        # it was running, and stop_server waits until it has exited
        return {"server_stopped": bool(handle["stopped"])} if isinstance(handle, dict) else {}


@register_fault
class PauseFault(FaultKind):
    """The server process (every process of a server container) stopped (SIGSTOP) for the
    window, then continued (SIGCONT)."""

    name = "pause"
    target_kind = "server"

    def label(self, options: Mapping[str, Any]) -> str:
        return "server paused"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        pid = server_pid(stack, self.name, target)
        # a server container: every process in it (an image may run its server under a
        # shell or an init), not only its first
        container_pids = getattr(stack.servers[target], "pids", None)
        pids = (await asyncio.to_thread(container_pids) if container_pids else None) or [pid]
        for each in pids:
            os.kill(each, signal.SIGSTOP)
        stopped = [await _stopped(each) for each in pids]
        return {"pid": pid, "pids": pids, "stopped": all(stopped)}

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        for pid in handle.get("pids") or [handle["pid"]]:
            try:
                os.kill(int(pid), signal.SIGCONT)
            except ProcessLookupError:
                pass  # already gone: nothing left to continue

    def evidence(self, handle: Any) -> dict[str, Any]:
        return {"process_stopped": bool(handle["stopped"])} if isinstance(handle, dict) else {}


async def _stopped(pid: int, deadline_s: float = 2.0) -> bool:
    """Whether the kernel shows process `pid` stopped (state T in /proc) within the deadline:
    SIGSTOP is asynchronous, and the pause path counts only windows where it took."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        state = process_state(pid)
        if state is None:
            return False
        if state in ("T", "t"):
            return True
        await asyncio.sleep(0.001)
    return False


def process_state(pid: int) -> str | None:
    """The kernel's one-letter state of process `pid` (R, S, T, ...), None if it is gone
    (/proc is in memory: reading it does not block)."""
    try:
        # the state follows the command name, which is in parentheses
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


@register_fault
class ClockFault(FaultKind):
    """`offset_s`: the server's wall clock that many seconds ahead (+) or behind (-);
    `drift`: it gains (+) or loses (-) that many seconds per second of the window. Replicas
    share one fake clock: the fault moves every replica's."""

    name = "clock"
    target_kind = "server"
    option_names = ("offset_s", "drift")

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        options = super().options(raw)
        checked = {"offset_s": number_option(self.name, options, "offset_s", -MAX_OFFSET_S,
                                             MAX_OFFSET_S),
                   "drift": number_option(self.name, options, "drift", -10.0, 10.0)}
        if not (checked["offset_s"] or checked["drift"]):
            raise FaultError("clock fault: give offset_s (seconds ahead, or behind when "
                             "negative) or drift (seconds gained per second)")
        return checked

    def label(self, options: Mapping[str, Any]) -> str:
        parts = []
        if options.get("offset_s"):
            parts.append(f"{options['offset_s']:+g}s")
        if options.get("drift"):
            parts.append(f"drift {options['drift']:+g}s/s")
        return "clock " + " ".join(parts)

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        clock = _clock_of(stack)
        offset, drift = float(options.get("offset_s", 0.0)), float(options.get("drift", 0.0))
        clock.set_offset(offset)
        shown = await server_clock_at(stack, offset)
        drifting = asyncio.create_task(_drift(clock, offset, drift)) if drift else None
        return {"shown_s": shown, "drifting": drifting}

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        drifting = handle.get("drifting") if isinstance(handle, dict) else None
        if drifting is not None:
            drifting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drifting
        _clock_of(stack).set_offset(0.0)
        await server_clock_at(stack, 0.0)


    def evidence(self, handle: Any) -> dict[str, Any]:
        # the offset the server's own /health showed once the fault was on
        return ({"server_clock_off_s": round(float(handle["shown_s"]), 4)}
                if isinstance(handle, dict) else {})


def _clock_of(stack: Stack) -> ServerClock:
    server_pid(stack, "clock")
    clock = getattr(stack, "server_clock", None)
    if clock is None:
        raise FaultError("clock fault: the server was not started under libfaketime; start "
                         "the stack with StackConfig(fake_clock=True) (a study does when "
                         "its schedule has a clock fault)")
    return clock


async def _drift(clock: ServerClock, offset: float, drift: float) -> None:
    began = time.monotonic()
    while True:
        await asyncio.sleep(DRIFT_STEP_S)
        moved = offset + drift * (time.monotonic() - began)
        clock.set_offset(max(-MAX_OFFSET_S, min(MAX_OFFSET_S, moved)))


async def server_clock_at(stack: Stack, offset: float) -> float:
    """Wait until the server's clock reads `offset` seconds off ours; the offset it showed.
    RuntimeError if it does not within CLOCK_SETTLE_S (libfaketime not in effect)."""
    deadline = time.monotonic() + CLOCK_SETTLE_S
    while True:
        before = time.time()
        stamped = parse_rfc3339(await stack.server_time())
        after = time.time()
        shown = (stamped.timestamp() - (before + after) / 2) if stamped else math.nan
        if abs(shown - offset) <= CLOCK_TOLERANCE_S + (after - before):
            return shown
        if time.monotonic() > deadline:
            raise RuntimeError(f"clock fault: the server's clock is {shown:+.3f}s off ours, "
                               f"not {offset:+.3f}s, {CLOCK_SETTLE_S:g}s after it was set; "
                               "is libfaketime preloaded into it?")
        await asyncio.sleep(0.02)


__all__ = ["ClockFault", "CrashFault", "PauseFault", "RestartFault", "server_clock_at",
           "server_pid"]
