"""Real tasksync servers for tests: in a thread of the test process, or in a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from tasksync.server.app import create_app
from tasksync.server.config import ServerConfig
from tasksync.server.main import bind


def wait_for(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.01,
             message: str = "condition") -> object:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} not met within {timeout}s")
        time.sleep(interval)


@dataclass
class ServerThread:
    """A uvicorn server on 127.0.0.1 in a background thread of this process."""

    config: ServerConfig

    def start(self) -> ServerThread:
        sock = bind("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        self.app = create_app(self.config)
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, log_level="warning", ws_ping_interval=None, ws_ping_timeout=None,
            timeout_graceful_shutdown=2,
        ))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, message="server start")
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class ServerProcess:
    """`tasksync serve` as a child process (for kill -9 and graceful-shutdown tests)."""

    def __init__(self, db_path: Path, *extra_args: str, port: int = 0) -> None:
        self.db_path = Path(db_path)
        self.extra_args = extra_args
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> ServerProcess:
        port_file = self.db_path.with_suffix(".port")
        port_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tasksync.server.cli", "--port", str(self.port), "--db",
             str(self.db_path), "--port-file", str(port_file), *self.extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ},
        )
        wait_for(lambda: port_file.exists() and port_file.read_text().strip()
                 or self.process.poll() is not None, timeout, message="server port file")
        if self.process.poll() is not None:
            raise RuntimeError(f"server exited: {self.process.stderr.read().decode()}")
        self.port = int(port_file.read_text())
        wait_for(self._healthy, timeout, message="server health")
        return self

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait: the graceful path."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=5)
