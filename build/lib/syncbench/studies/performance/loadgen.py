"""Bounded closed-loop load: W workers share N operations, each recorded in a History.

    phase = await run_closed_loop(history, clients, total=1000, operation=create_one,
                                  labels={"phase": "create"}, deadline_s=60, server_pid=pid)
    phase.elapsed_s, phase.ok, phase.client_cpu_share

Every worker has its own client (its own connection pool and client id), as separate users
would. The phase measures wall time from the first operation to the last completion, and the
CPU this process (the load generator) and the server used meanwhile (syncbench.machine's
CpuMeter), so a report can say whether the client, not the server, was the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from syncbench.history import History, OpHandle
from syncbench.machine import CpuMeter

# operation(client, worker index, operation index, op handle) -> awaitable
Operation = Callable[[Any, int, int, OpHandle], Awaitable[None]]


@dataclass(frozen=True)
class PhaseResult:
    """What one bounded phase of load did: counts, wall time, and CPU on both sides."""

    requested: int
    ok: int
    failed: int
    elapsed_s: float
    client_cpu_s: float
    server_cpu_s: float
    timed_out: bool = False

    @property
    def throughput_per_s(self) -> float:
        """Successful operations per second of wall time."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def client_cpu_share(self) -> float:
        """This process's CPU time over wall time (1.0 = one core busy all the time)."""
        return self.client_cpu_s / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def server_cpu_share(self) -> float:
        """The server's CPU time over wall time (1.0 = one core busy all the time)."""
        return self.server_cpu_s / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def row(self) -> dict[str, Any]:
        """The phase as a frame row (what the creation and memory frames carry)."""
        return {"requested": self.requested, "ok_count": self.ok, "failed": self.failed,
                "elapsed_s": self.elapsed_s, "throughput_per_s": self.throughput_per_s,
                "client_cpu_share": self.client_cpu_share,
                "server_cpu_share": self.server_cpu_share, "timed_out": self.timed_out}


async def run_closed_loop(
    history: History,
    clients: Sequence[Any],
    total: int,
    operation: Operation,
    *,
    name: str,
    labels: dict[str, Any] | None = None,
    deadline_s: float,
    server_pid: int | None = None,
    stop_at: float | None = None,
) -> PhaseResult:
    """Run `total` operations over len(clients) workers, each op recorded in `history`.

    Each worker takes the next operation index until `total` are taken, so faster workers
    do more (a closed loop: one request in flight per worker). The phase stops at
    `deadline_s`; operations still running are then recorded as `info` (cancelled).
    With `stop_at` (a time.monotonic() value) no operation starts after it: a timed phase
    that ends cleanly, `total` then being only a bound.
    """
    if total < 0 or not clients:
        raise ValueError("run_closed_loop needs total >= 0 and at least one client")
    counter = itertools.count()
    outcomes = {"started": 0, "ok": 0}
    labels = dict(labels or {})

    async def worker(index: int, client: Any) -> None:
        while (stop_at is None or time.monotonic() < stop_at) and (n := next(counter)) < total:
            outcomes["started"] += 1
            async with history.record(
                getattr(client, "client_id", f"w{index}"), name, **labels
            ) as op:
                await operation(client, index, n, op)
            outcomes["ok"] += op.outcome == "ok"

    meter = CpuMeter(server_pid)
    meter.start()
    started = time.monotonic()
    timed_out = False
    tasks = [asyncio.create_task(worker(i, client)) for i, client in enumerate(clients)]
    try:
        async with asyncio.timeout(deadline_s):
            await asyncio.gather(*tasks)
    except TimeoutError:
        timed_out = True
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.monotonic() - started
    client_cpu, server_cpu = meter.read()
    requested = outcomes["started"] if stop_at is not None else total
    return PhaseResult(
        requested=requested,
        ok=outcomes["ok"],
        failed=requested - outcomes["ok"],
        elapsed_s=elapsed,
        client_cpu_s=client_cpu,
        server_cpu_s=server_cpu,
        timed_out=timed_out,
    )


__all__ = ["Operation", "PhaseResult", "run_closed_loop"]
