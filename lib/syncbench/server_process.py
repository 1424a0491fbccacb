"""A `tasksync serve` child process on 127.0.0.1: started, health-checked, killed or stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from syncbench.orphans import die_with_parent


class ServerStartFailed(RuntimeError):
    """The tasksync server did not come up; the message carries the end of its log."""


class LoopbackServer:
    """A tasksync server on 127.0.0.1 this machine started (a process or a container): its
    files in `workdir` by `name`, its addresses, and whether its health path answers."""

    health_path = "/health"

    def __init__(self, workdir: Path, name: str, port: int) -> None:
        # The same workdir and name mean the same database: a restart after a kill finds it.
        self.workdir = Path(workdir)
        self.db_path = self.workdir / f"{name}.db"
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def port_file(self) -> Path:
        """Where `tasksync serve --port-file` says which port it bound."""
        return self.workdir / f"{self.db_path.stem}.port"

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}{self.health_path}", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


class TasksyncProcess(LoopbackServer):
    """`tasksync serve --port 0` in a child process, its SQLite file and log in `workdir`."""

    def __init__(self, workdir: Path, *options: str, port: int = 0, name: str = "server",
                 start_timeout: float = 30.0, env: Mapping[str, str] | None = None) -> None:
        super().__init__(workdir, name, port)
        self.log_path = self.workdir / f"{name}.log"
        self.options = options
        self.start_timeout = start_timeout
        self.env = dict(env or {})  # on top of ours (e.g. libfaketime's, syncbench.fake_clock)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> TasksyncProcess:
        """Start and wait (with a deadline) until /health answers 200. Started again after a
        kill or stop, it serves the same database on the same port."""
        if self.running:
            raise RuntimeError(f"tasksync server (pid {self.pid}) is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        port_file = self.port_file
        port_file.unlink(missing_ok=True)
        log = self.log_path.open("ab")  # a file, not a pipe: an undrained pipe stalls the server
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tasksync.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--db", str(self.db_path),
                 "--port-file", str(port_file), *self.options],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                preexec_fn=die_with_parent(),
                # its own process group: Kernel > Interrupt signals the kernel's group, and
                # the study (not the signal) decides when the server stops
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            self._check_alive_before(deadline, "write its port")
        self.port = int(port_file.read_text())
        while not self._healthy():
            self._check_alive_before(deadline, "answer /health")
        return self

    def _check_alive_before(self, deadline: float, what: str) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise ServerStartFailed(
                f"tasksync server exited with {self.process.returncode} before it could {what};"
                f" its log ends:\n{self.log_tail()}")
        if time.monotonic() > deadline:
            self.kill()
            raise ServerStartFailed(
                f"tasksync server did not {what} within {self.start_timeout}s;"
                f" its log ends:\n{self.log_tail()}")
        time.sleep(0.02)

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> bool:
        """SIGKILL: no shutdown code runs, as in a crash. Whether it was this kill that ended
        the process (False when it had already exited)."""
        if self.process is None or self.process.poll() is not None:
            return False
        self.process.kill()
        return self.process.wait(timeout=10) == -signal.SIGKILL

    def close(self) -> None:
        """Stop it for good (what a stack does at its end)."""
        self.stop()

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then wait (SIGKILL after `timeout`); returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode
