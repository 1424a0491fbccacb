"""A tasksync server (or any server image a user names) as a container on the host network.

    server = TasksyncContainer(workdir, "--enable-fault-injection", image=server_image())
    server.start()       # testcontainers creates and starts it; waits for its health path
    server.kill()        # docker kill (SIGKILL): a crash; start() again: docker start
    server.pause()       # docker pause: every process frozen (cgroup freezer); resume()
    server.close()       # stopped and removed

It answers to what syncbench.server_process.TasksyncProcess answers to (base_url, start,
kill, stop, log_tail, ...), so a Stack and the process faults use either. Host networking
only: the server listens on this machine's 127.0.0.1 at a port chosen here, and keeps
that port, its database (the stack's workdir, mounted at /data) and its container across
kills and restarts, so the proxies, and through them every client, find it again.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from syncbench.containers.engine import engine_problem, labels, reaper_off
from syncbench.containers.images import FAKETIME_IN_IMAGE, SERVER_DATA, missing_image
from syncbench.machine import free_port
from syncbench.server_process import LoopbackServer, ServerStartFailed

STOP_TIMEOUT_S = 15
PASSED_ON = ("TASKSYNC_", "QDRANT_")  # our environment's settings a server container gets
log = logging.getLogger(__name__)


class TasksyncContainer(LoopbackServer):
    """One server container; `command` None means our image's `tasksync serve` with
    `options`; a user's image runs its own command (or `command`, where "{port}" is the
    port) and is told the port in the environment too (PORT, HOST=127.0.0.1)."""

    def __init__(self, workdir: Path, *options: str, image: str, name: str = "server",
                 port: int = 0, health_path: str = "/health",
                 command: Sequence[str] | None = None, tasksync: bool = True,
                 start_timeout: float = 60.0, env: Mapping[str, str] | None = None) -> None:
        super().__init__(workdir, name, port)
        self.name = name
        self.image = image
        self.options = options
        self.health_path = "/" + health_path.lstrip("/")
        self.command = list(command) if command else None
        self.tasksync = tasksync
        self.start_timeout = start_timeout
        self.env = dict(env or {})
        self._container: Any = None  # testcontainers' DockerContainer, once created

    @property
    def container(self) -> Any:
        """The docker SDK's container (None before the first start)."""
        return self._container.get_wrapped_container() if self._container else None

    def status(self) -> str:
        """The engine's word for it now: running, paused, exited, ... ("absent" if none)."""
        container = self.container
        if container is None:
            return "absent"
        try:
            container.reload()
        except Exception:  # noqa: BLE001 (removed behind our back)
            return "absent"
        return str(container.status)

    @property
    def pid(self) -> int | None:
        """The host pid of the container's main process while it runs (or is paused)."""
        if self.status() not in ("running", "paused"):
            return None
        return int(self.container.attrs["State"]["Pid"]) or None

    @property
    def running(self) -> bool:
        """Whether its process exists (paused counts, as a SIGSTOPped process does)."""
        return self.status() in ("running", "paused")

    def pids(self) -> list[int]:
        """The host pids of every process in the container (docker top), [] if none runs."""
        if self.status() not in ("running", "paused"):
            return []
        top = self.container.top(ps_args="-o pid")
        return [int(row[0]) for row in top.get("Processes") or []]

    def _server_command(self) -> list[str]:
        if not self.tasksync:
            return [part.replace("{port}", str(self.port)) for part in self.command or []]
        # the port file tells us this server bound the port (not another listener on it)
        return ["serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--db", f"{SERVER_DATA}/{self.db_path.name}",
                "--port-file", f"{SERVER_DATA}/{self.port_file.name}", *self.options]

    def _environment(self) -> dict[str, str]:
        """The container's environment: our TASKSYNC_*/QDRANT_* settings, the port, then
        the stack's (a fake clock's paths translated to the container's)."""
        env = {key: value for key, value in os.environ.items() if key.startswith(PASSED_ON)}
        env.update({"PORT": str(self.port), "HOST": "127.0.0.1"})
        if self.tasksync:
            env["HOME"] = SERVER_DATA
        env.update(self.env)
        if "FAKETIME_TIMESTAMP_FILE" in env:  # a fake clock: the image's library, our file
            env["LD_PRELOAD"] = FAKETIME_IN_IMAGE
            clock_file = Path(env["FAKETIME_TIMESTAMP_FILE"]).relative_to(self.workdir)
            env["FAKETIME_TIMESTAMP_FILE"] = f"{SERVER_DATA}/{clock_file}"
        return env

    def _create(self) -> None:
        problem = engine_problem()
        if problem:
            raise ServerStartFailed(f"cannot start a server container: {problem}")
        reaper_off()
        from testcontainers.core.container import DockerContainer

        self.workdir.mkdir(parents=True, exist_ok=True)
        if advice := missing_image(self.image):
            raise ServerStartFailed(advice)
        if not self.port:
            self.port = free_port()
        # our image runs as us, so its files in the workdir are ours; another as it was built
        user = {"user": f"{os.getuid()}:{os.getgid()}"} if self.tasksync else {}
        container = (DockerContainer(self.image)
                     .with_name(f"syncbench-{self.name}-{os.getpid()}-{self.port}")
                     .with_kwargs(network="host", labels=labels("server"), **user))
        container.with_volume_mapping(str(self.workdir), SERVER_DATA, "rw")
        for key, value in self._environment().items():
            container.with_env(key, value)
        command = self._server_command()
        if command:
            container.with_command(command)
        self._container = container
        atexit.register(self.close)  # a crashed run must not leave a container behind
        try:
            container.start()
        except Exception as exc:
            self.close()  # created but not started: remove it
            raise ServerStartFailed(f"the engine could not start a container of {self.image}: "
                                    f"{exc}") from exc

    def start(self) -> TasksyncContainer:
        """Create and start the container (or start it again after a kill or stop, same
        port, same data), then wait, with a deadline, until its health path answers 200."""
        self.port_file.unlink(missing_ok=True)
        if self._container is not None and self.status() == "absent":
            self._container = None  # removed behind our back: make it again
        if self._container is None:
            self._create()
        else:
            status = self.status()
            if status in ("running", "paused"):
                raise RuntimeError(f"server container {self.name} is already {status}")
            self.container.start()
        deadline = time.monotonic() + self.start_timeout
        while not (self._bound() and self._healthy() and self.status() == "running"):
            status = self.status()
            if status not in ("running", "created", "restarting"):
                raise ServerStartFailed(
                    f"server container {self.name} ({self.image}) is {status} before it "
                    f"answered {self.health_path}; its log ends:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise ServerStartFailed(
                    f"server container {self.name} ({self.image}) did not answer "
                    f"{self.base_url}{self.health_path} within {self.start_timeout:g} s; "
                    f"its log ends:\n{self.log_tail()}")
            time.sleep(0.05)
        return self

    def _bound(self) -> bool:
        """Whether our server says it listens on the port (another image cannot say)."""
        if not self.tasksync:
            return True
        try:
            return self.port_file.read_text().strip() == str(self.port)
        except OSError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        container = self.container
        if container is None:
            return ""
        try:
            return container.logs(tail=lines).decode(errors="replace").rstrip()
        except Exception as exc:  # noqa: BLE001 (removed)
            return f"(no log: {type(exc).__name__})"

    def _wait_exit(self) -> int:
        import docker
        import requests

        try:
            result = self.container.wait(timeout=STOP_TIMEOUT_S + 10)
        except requests.exceptions.RequestException:
            # it did not exit (a slow shutdown, or its process stopped): kill it for good
            with contextlib.suppress(docker.errors.APIError):  # it may just have exited
                self.container.kill()
            result = self.container.wait(timeout=STOP_TIMEOUT_S + 10)
        return int(result.get("StatusCode", -1))

    def kill(self) -> bool:
        """docker kill (SIGKILL): no shutdown code runs, as in a crash. Whether it was this
        kill that ended it (False when it was not running)."""
        return self.kill_with("SIGKILL") == 137  # 128 + SIGKILL

    def kill_with(self, signal: str = "SIGKILL") -> int | None:
        """docker kill --signal, then wait until the container has exited; its exit code
        (None when it was not running). A paused container is unpaused for a signal it
        must handle (SIGKILL needs no process to run)."""
        import docker

        status = self.status()
        if status not in ("running", "paused"):
            return None
        if status == "paused" and signal != "SIGKILL":
            self.container.unpause()
        try:
            self.container.kill(signal=signal)
        except docker.errors.APIError as exc:
            if self.status() in ("running", "paused"):
                raise
            log.debug("container %s exited before the kill: %s", self.name, exc)
            return None
        return self._wait_exit()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """docker stop: SIGTERM, then SIGKILL after `timeout`; the exit code. The container
        stays, so `start` brings it back on the same port and data."""
        status = self.status()
        if status not in ("running", "paused"):
            return 0 if self._container is None else self._exit_code()
        if status == "paused":
            self.container.unpause()  # a frozen process cannot take SIGTERM
        self.container.stop(timeout=int(timeout))
        return self._wait_exit()

    def _exit_code(self) -> int:
        return int(self.container.attrs["State"].get("ExitCode", 0))

    def pause(self) -> bool:
        """docker pause: every process of the container frozen until `resume`. Whether the
        engine shows it paused."""
        self.container.pause()
        return self.status() == "paused"

    def resume(self) -> None:
        if self.status() == "paused":
            self.container.unpause()

    def close(self) -> None:
        """Stop and remove the container (its data stays in the workdir)."""
        atexit.unregister(self.close)
        container, self._container = self._container, None
        if container is not None:
            try:
                container.stop()  # docker rm -f
            except Exception as exc:  # noqa: BLE001 (gone already, or the engine is)
                log.warning("could not remove the container of %s: %s (`python -m "
                            "syncbench.containers sweep` removes it)", self.name, exc)


__all__ = ["TasksyncContainer"]
