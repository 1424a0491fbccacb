"""This machine and what its processes use of it: the one home for each of these.

    machine_description()        CPUs, CPU model, memory, Python, OS (stored next to figures)
    cpu_seconds(pid)             user + system CPU seconds of a process (None: this one)
    loop_and_other_cpu_seconds   the same split into the main thread and all others
    CpuMeter                     CPU seconds of this process and another since start()
    rss_bytes(pid), rss_mib(pid) resident memory of a process
    RssSampler                   RSS sampled in the background (an asyncio task or a thread)
    free_port()                  a TCP port nothing listens on right now

Used by the studies (syncbench.studies.performance) and by benchmarks/, so a figure and the
machine it was measured on are described the same way everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

MIB = 2**20


def machine_description() -> dict[str, Any]:
    """What figures were measured on: CPU count and model, memory, Python, OS, architecture."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


# -- CPU ------------------------------------------------------------------------------------


def _process(pid: int | None) -> psutil.Process | None:
    try:
        return psutil.Process(pid)  # pid None is this process
    except psutil.Error:
        return None


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds process `pid` (None: this one) has used; 0.0 if it is gone."""
    process = _process(pid)
    if process is None:
        return 0.0
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def loop_and_other_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds of the main thread (an asyncio server's event loop) and of all its other
    threads together (e.g. a storage thread), so a figure can say where the CPU went."""
    main, other = 0.0, 0.0
    for thread in psutil.Process(pid).threads():
        if thread.id == pid:
            main += thread.user_time + thread.system_time
        else:
            other += thread.user_time + thread.system_time
    return main, other


class CpuMeter:
    """CPU seconds used by this process and by another one (the server) since `start()`.

    This process's time is `time.process_time()` (cheap, every thread of it); the other's
    is read through psutil, 0.0 when there is none or it is gone.
    """

    def __init__(self, other_pid: int | None = None) -> None:
        self.other_pid = other_pid
        self._own0 = 0.0
        self._other0 = 0.0

    def _other(self) -> float:
        return cpu_seconds(self.other_pid) if self.other_pid is not None else 0.0

    def start(self) -> None:
        self._own0 = time.process_time()
        self._other0 = self._other()

    def read(self) -> tuple[float, float]:
        """(this process's CPU s, the other's CPU s) since start()."""
        return time.process_time() - self._own0, self._other() - self._other0


# -- memory ---------------------------------------------------------------------------------


def rss_bytes(pid: int | None) -> int | None:
    """The resident set size of process `pid`, or None when it cannot be read."""
    if pid is None:
        return None
    process = _process(pid)
    if process is None:
        return None
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return None


def rss_mib(pid: int) -> float:
    """The resident set size of process `pid` in MiB; psutil.Error when it cannot be read."""
    return psutil.Process(pid).memory_info().rss / MIB


class RssSampler:
    """Samples a process's RSS every `interval_s` in the background, labelled by phase.

    `phase` is read at each sample, so the caller sets `sampler.phase = "..."` as the run
    moves on. Each sample is (seconds since start, wall-clock time.time(), RSS MiB, phase).
    In asyncio code `start()` / `await stop()` sample on a task; code that blocks (a
    benchmark driving wrk) uses `with sampler.in_thread():`.
    """

    def __init__(self, pid: int | None, interval_s: float = 0.5,
                 max_samples: int = 100_000) -> None:
        if interval_s <= 0:
            raise ValueError(f"RssSampler: interval_s must be > 0, got {interval_s!r}")
        self.pid = pid
        self.interval_s = interval_s
        self.max_samples = max_samples
        self.phase = "start"
        self.samples: list[tuple[float, float, float, str]] = []
        self._task: asyncio.Task[None] | None = None
        self._t0 = time.monotonic()

    def sample(self) -> float | None:
        """Take one sample now; returns the RSS in MiB (None when unreadable)."""
        rss = rss_bytes(self.pid)
        if rss is None:
            return None
        mib = rss / MIB
        if len(self.samples) < self.max_samples:
            self.samples.append((time.monotonic() - self._t0, time.time(), mib, self.phase))
        return mib

    def values_since(self, index: int) -> list[float]:
        """The RSS values (MiB) of the samples from `index` on."""
        return [sample[2] for sample in self.samples[index:]]

    async def _loop(self) -> None:
        while len(self.samples) < self.max_samples:
            self.sample()
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        """Sample on an asyncio task until `stop()`."""
        self._t0 = time.monotonic()
        self._task = asyncio.create_task(self._loop(), name="rss-sampler")

    async def stop(self) -> None:
        """Stop the task and take one last sample."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.sample()

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[RssSampler]:
        """Sample on a background thread during the block (for code that blocks)."""
        self._t0 = time.monotonic()
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.interval_s) and len(self.samples) < self.max_samples:
                self.sample()

        thread = threading.Thread(target=loop, name="rss-sampler", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()


# -- ports ----------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it; another process could take
    it before it is used, so bind it soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


__all__ = ["CpuMeter", "RssSampler", "cpu_seconds", "free_port", "loop_and_other_cpu_seconds",
           "machine_description", "rss_bytes", "rss_mib"]
