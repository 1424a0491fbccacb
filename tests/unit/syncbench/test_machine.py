"""The machine and its meters: description, CPU seconds, RSS, the sampler, free ports."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import pytest

from syncbench.machine import (
    CpuMeter,
    RssSampler,
    cpu_seconds,
    free_port,
    loop_and_other_cpu_seconds,
    machine_description,
    rss_bytes,
    rss_mib,
)


def busy(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_the_description_names_cpus_python_and_platform() -> None:
    described = machine_description()
    assert described["cpu_count"] == os.cpu_count()
    assert {"cpu_model", "memory_gib", "python", "implementation", "platform",
            "machine"} <= set(described)
    assert described["python"] == ".".join(map(str, sys.version_info[:3]))


def test_cpu_meter_counts_this_process_and_another() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time\nend = time.process_time() + 0.3\n"
                              "while time.process_time() < end: pass\ntime.sleep(30)"])
    try:
        meter = CpuMeter(child.pid)
        meter.start()
        busy(0.1)
        deadline = time.monotonic() + 20
        while cpu_seconds(child.pid) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        own, other = meter.read()
        assert own >= 0.09
        assert other > 0.1
        main, rest = loop_and_other_cpu_seconds(child.pid)
        assert main + rest == pytest.approx(cpu_seconds(child.pid), abs=0.05)
    finally:
        child.kill()
        child.wait()
    assert cpu_seconds(child.pid) == 0.0  # gone: nothing to count
    assert CpuMeter(None).read()[1] == 0.0


def test_rss_is_read_in_bytes_and_mib_and_none_when_unreadable() -> None:
    own = rss_bytes(os.getpid())
    assert own is not None and own > 2**20
    assert rss_mib(os.getpid()) == pytest.approx(own / 2**20, rel=0.2)
    assert rss_bytes(None) is None
    assert rss_bytes(2**22 + 12345) is None  # above the default pid_max


async def test_the_sampler_labels_samples_by_phase_on_a_task() -> None:
    sampler = RssSampler(os.getpid(), interval_s=0.02)
    sampler.start()
    deadline = time.monotonic() + 5
    while len(sampler.samples) < 2:
        assert time.monotonic() < deadline, "no samples within 5 s"
        await asyncio.sleep(0.01)
    sampler.phase = "later"
    await sampler.stop()
    assert sampler.samples[0][3] == "start" and sampler.samples[-1][3] == "later"
    elapsed, wall, mib, _ = sampler.samples[-1]
    assert elapsed >= 0 and abs(wall - time.time()) < 5 and mib > 1
    assert sampler.values_since(len(sampler.samples) - 1) == [mib]


def test_the_sampler_samples_on_a_thread_while_the_caller_blocks() -> None:
    sampler = RssSampler(os.getpid(), interval_s=0.02)
    with sampler.in_thread():
        deadline = time.monotonic() + 5
        while len(sampler.samples) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    taken = len(sampler.samples)
    assert taken >= 3
    time.sleep(0.06)
    assert len(sampler.samples) == taken  # stopped with the block


def test_a_sampler_needs_a_positive_interval() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        RssSampler(os.getpid(), interval_s=0)


def test_a_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        assert sock.getsockname()[1] == port
