"""Bounded closed-loop load: W workers share N operations, each recorded in a History.

    phase = await run_closed_loop(history, clients, total=1000, operation=create_one,
                                  labels={"phase": "create"}, deadline_s=60, server_pid=pid)
    phase.elapsed_s, phase.ok, phase.client_cpu_share

Every worker has its own client (its own connection pool and client id), as separate users
would. The phase measures wall time from the first operation to the last completion, and the
CPU this process (the load generator) and the server used meanwhile, so a report can say
whether the client, not the server, was the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psutil

from syncbench.history import OpHandle

Client = TypeVar("Client")
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


class CpuMeter:
    """CPU seconds used by this process and by another one (the server) since `start()`."""

    def __init__(self, server_pid: int | None = None) -> None:
        self._server = _process(server_pid)
        self._client0 = 0.0
        self._server0 = 0.0

    def start(self) -> None:
        self._client0 = time.process_time()
        self._server0 = _cpu_seconds(self._server)

    def read(self) -> tuple[float, float]:
        """(client CPU s, server CPU s) since start()."""
        return time.process_time() - self._client0, _cpu_seconds(self._server) - self._server0


def _process(pid: int | None) -> psutil.Process | None:
    if pid is None:
        return None
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _cpu_seconds(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def rss_bytes(pid: int | None) -> int | None:
    """The resident set size of process `pid`, or None when it cannot be read."""
    process = _process(pid)
    if process is None:
        return None
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return None


async def run_closed_loop(
    history: Any,
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


class RssSampler:
    """Samples a process's RSS every `interval_s` in the background, labelled by phase.

    `phase` is read at each sample, so the caller sets `sampler.phase = "..."` as the run
    moves on. Samples are (seconds since start, RSS in MiB, phase).
    """

    def __init__(
        self, pid: int | None, interval_s: float = 0.5, max_samples: int = 100_000
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self.pid = pid
        self.interval_s = interval_s
        self.max_samples = max_samples
        self.phase = "start"
        self.samples: list[tuple[float, float, str]] = []
        self._task: asyncio.Task[None] | None = None
        self._t0 = time.monotonic()

    def sample(self) -> float | None:
        """Take one sample now; returns the RSS in MiB (None when unreadable)."""
        rss = rss_bytes(self.pid)
        if rss is None:
            return None
        mib = rss / 2**20
        if len(self.samples) < self.max_samples:
            self.samples.append((time.monotonic() - self._t0, mib, self.phase))
        return mib

    async def _loop(self) -> None:
        while len(self.samples) < self.max_samples:
            self.sample()
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._task = asyncio.create_task(self._loop(), name="rss-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.sample()
