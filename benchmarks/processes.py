"""The processes a benchmark runs against: the bare app, a tasksync server, wrk.

The server under test is pinned to CPU 0 and the load generator to CPU 1 (on a machine with
two or more CPUs), so the two never fight over one core and runs compare with each other.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.runner import REPO_ROOT
from syncbench.machine import free_port
from syncbench.server_process import TasksyncProcess

SERVER_CPU = 0
LOAD_CPU = 1


def pin(pid: int, cpu: int) -> None:
    """Pin every thread of `pid` (and threads it starts later) to `cpu`, when there is one."""
    if (os.cpu_count() or 1) < 2:
        return
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(tid), {cpu})


def pin_self_to_load_cpu() -> None:
    """Run this process (a Python load generator) on the load generator's CPU."""
    pin(os.getpid(), LOAD_CPU)


@contextlib.contextmanager
def bare_server() -> Iterator[str]:
    """benchmarks.bare_app under uvicorn (1 worker, uvloop, httptools); yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app", "--host", "127.0.0.1",
         "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
         "--log-level", "warning"],
        cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/", process)
        pin(process.pid, SERVER_CPU)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the bare server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the bare server did not answer {url} within {timeout}s")


@contextlib.contextmanager
def tasksync_server(*options: str) -> Iterator[TasksyncProcess]:
    """A fresh `tasksync serve` (rate limiting off) on a temporary SQLite file, pinned."""
    with tempfile.TemporaryDirectory(prefix="tasksync-bench-") as workdir:
        server = TasksyncProcess(Path(workdir), "--rate-limit", "0", *options).start()
        try:
            assert server.pid is not None
            pin(server.pid, SERVER_CPU)
            yield server
        finally:
            server.stop()


# -- wrk ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    requests: int
    non_2xx: int
    socket_errors: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None


def wrk_binary() -> str:
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: run `make bench` (it installs Debian's wrk as"
                         " root) or `apt-get install wrk`")
    return binary


def run_wrk(url: str, script: str, *, seconds: float, connections: int = 32,
            threads: int = 1) -> WrkResult:
    """wrk with a Lua `script` against `url` for `seconds`, on the load generator's CPU."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        command = [wrk_binary(), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s",
                   "--latency", "-s", file.name, url]
        if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
            command = ["taskset", "-c", str(LOAD_CPU), *command]
        out = subprocess.run(command, capture_output=True, text=True, check=True,
                             timeout=seconds + 60).stdout
    finally:
        os.unlink(file.name)
    return _parse_wrk(out)


def _latency_ms(out: str, percentile: str) -> float | None:
    match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if not match:
        return None
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return float(match.group(1)) * scale


def _parse_wrk(out: str) -> WrkResult:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if rate is None or total is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    return WrkResult(
        requests_per_s=float(rate.group(1)),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        latency_p50_ms=_latency_ms(out, "50"),
        latency_p99_ms=_latency_ms(out, "99"),
    )
