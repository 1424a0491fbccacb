"""Real tasksync servers for tests: in a thread of the test process, or in a child process
(ServerProcess, the same one syncbench's Stack starts)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import uvicorn

from syncbench.server_process import TasksyncProcess as ServerProcess  # noqa: F401
from tasksync.server.app import create_app
from tasksync.server.config import ServerConfig
from tasksync.server.main import bind
from tests.support.wait import wait_until


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
        wait_until(lambda: self.server.started, message="server start")
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
