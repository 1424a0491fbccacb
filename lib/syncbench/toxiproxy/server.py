"""A running Toxiproxy server, found or started in one of three ways, and what it is.

In this order: `TOXIPROXY_URL` (a server someone else runs, used as is); a `toxiproxy-server`
binary on PATH or in the repository's .tools/bin (`make toxiproxy` builds it), started on
127.0.0.1 at a free port; a DEFAULT_IMAGE container through testcontainers when a Docker
engine answers. `ToxiproxyInfo` records which way, and the server's version.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from syncbench.machine import free_port
from syncbench.orphans import die_with_parent
from syncbench.toxiproxy.control import ToxiproxyControl
from syncbench.toxiproxy.errors import (
    BINARY_NAME,
    DEFAULT_IMAGE,
    HOW_TO_GET_TOXIPROXY,
    REPO_TOOLS_BIN,
    ToxiproxyRequestFailed,
    ToxiproxyStartFailed,
    ToxiproxyUnavailable,
)

Source = Literal["url", "binary", "container"]


@dataclass(frozen=True)
class ToxiproxyInfo:
    """Where the server came from and what it is, for run summaries."""

    source: Source
    api_url: str
    version: str
    reported_version: str
    origin: str  # the URL, the binary's path, or the container image

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def find_binary(search_dirs: Sequence[Path | str]) -> Path | None:
    """The first executable `toxiproxy-server` in `search_dirs`, if any."""
    found = shutil.which(BINARY_NAME, path=os.pathsep.join(str(d) for d in search_dirs))
    return Path(found) if found else None


def default_search_dirs(env: Mapping[str, str] | None = None) -> list[Path]:
    """PATH, then the repository's .tools/bin where `make toxiproxy` puts the binary."""
    env = os.environ if env is None else env
    dirs = [Path(p) for p in env.get("PATH", "").split(os.pathsep) if p]
    return [*dirs, REPO_TOOLS_BIN]


_MODULE_VERSION = re.compile(rb"mod\tgithub\.com/Shopify/toxiproxy/v2\t(v[0-9][^\t\n]*)")


def binary_module_version(binary: Path) -> str | None:
    """The toxiproxy module version Go embedded in the binary's build info, if present.

    `go install ...@v2.12.0` does not stamp the version the server reports (it says "git"),
    but Go records the module version in the binary, so the summary can still name it.
    """
    try:
        data = binary.read_bytes()
    except OSError:
        return None
    match = _MODULE_VERSION.search(data)
    return match.group(1).decode() if match else None


def docker_engine_answers(base_url: str | None = None, timeout: float = 3.0) -> bool:
    """Whether a Docker engine answers a ping (at `base_url`, else as DOCKER_HOST says)."""
    try:
        import docker
    except ImportError:
        return False
    try:
        client = (docker.DockerClient(base_url=base_url, timeout=timeout) if base_url
                  else docker.from_env(timeout=timeout))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # any failure to reach the engine means "no Docker" here
        return False


def _wait_for_version(control: ToxiproxyControl, deadline: float,
                      alive: Any = lambda: True) -> str:
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not alive():
            break
        try:
            return control.version()
        except ToxiproxyRequestFailed as exc:
            last_error = exc
            time.sleep(0.02)
    raise ToxiproxyStartFailed(
        f"Toxiproxy at {control.api_url} did not answer GET /version in time: {last_error}")


class ToxiproxyServer:
    """A running Toxiproxy server for the length of a `with` (or `async with`) block.

    Found in this order: `TOXIPROXY_URL` (used as is, never stopped); a `toxiproxy-server`
    binary in `search_dirs` (started on 127.0.0.1 at a free port); a container through
    testcontainers when a Docker engine answers. `info` records which, and the version.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        search_dirs: Sequence[Path | str] | None = None,
        image: str = DEFAULT_IMAGE,
        docker_base_url: str | None = None,
        use_docker: bool = True,
        prefer_container: bool = False,
        start_timeout: float = 15.0,
        api_timeout: float = 5.0,
        seed: int | None = None,
    ) -> None:
        self._env = os.environ if env is None else env
        self._search_dirs = (default_search_dirs(self._env) if search_dirs is None
                             else [Path(d) for d in search_dirs])
        self._image = image
        self._docker_base_url = docker_base_url
        self._use_docker = use_docker
        self._prefer_container = prefer_container  # a container before a binary
        self._start_timeout = start_timeout
        self._api_timeout = api_timeout
        self._seed = seed
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None
        self._container: Any = None
        self.info: ToxiproxyInfo | None = None

    @property
    def api_url(self) -> str:
        if self.info is None:
            raise RuntimeError("ToxiproxyServer is not started; use it in a `with` block")
        return self.info.api_url

    def control(self) -> ToxiproxyControl:
        return ToxiproxyControl(self.api_url, timeout=self._api_timeout)

    @property
    def pid(self) -> int | None:
        """The server's process id when this object started a binary."""
        return self._process.pid if self._process else None

    def start(self) -> ToxiproxyInfo:
        if self.info is not None:
            return self.info
        url = self._env.get("TOXIPROXY_URL", "").strip()
        if url:
            self.info = self._use_url(url)
        elif self._prefer_container:
            from syncbench.containers.engine import HOW_TO_GET_AN_ENGINE, engine_problem

            problem = engine_problem(base_url=self._docker_base_url)
            if problem:
                raise ToxiproxyUnavailable(
                    f"Toxiproxy was to run as a container, but {problem}. To fix, "
                    f"{HOW_TO_GET_AN_ENGINE}; or set TOXIPROXY_URL to a running server.")
            self.info = self._start_container()
        elif (binary := find_binary(self._search_dirs)) is not None:
            self.info = self._start_binary(binary)
        elif self._use_docker and docker_engine_answers(self._docker_base_url):
            self.info = self._start_container()
        else:
            searched = ", ".join(str(d) for d in self._search_dirs) or "nowhere"
            raise ToxiproxyUnavailable(
                f"No Toxiproxy server: TOXIPROXY_URL is not set, no {BINARY_NAME} binary in "
                f"({searched}), and no Docker engine answers. To fix, {HOW_TO_GET_TOXIPROXY}.")
        return self.info

    def _use_url(self, url: str) -> ToxiproxyInfo:
        control = ToxiproxyControl(url, timeout=self._api_timeout)
        try:
            version = control.version()
        except ToxiproxyRequestFailed as exc:
            raise ToxiproxyStartFailed(
                f"TOXIPROXY_URL={url} does not answer: {exc}. Start that server, "
                f"or unset TOXIPROXY_URL to let syncbench start one.") from exc
        return ToxiproxyInfo("url", control.api_url, version, version, url)

    def _start_binary(self, binary: Path) -> ToxiproxyInfo:
        port = free_port()
        args = [str(binary), "-host", "127.0.0.1", "-port", str(port)]
        if self._seed is not None:
            args += ["-seed", str(self._seed)]
        # A file, not a pipe: nobody drains a pipe, and a full one would stall the server.
        self._log = tempfile.TemporaryFile()
        env = {**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "warn")}
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT, env=env,
                                         preexec_fn=die_with_parent(),
                                         # out of the kernel's process group: an interrupt
                                         # of the kernel must not kill the proxies under it
                                         start_new_session=True)
        atexit.register(self.stop)  # a crashed test run must not leave a server behind
        control = ToxiproxyControl(f"http://127.0.0.1:{port}", timeout=self._api_timeout)
        process = self._process
        try:
            reported = _wait_for_version(control, time.monotonic() + self._start_timeout,
                                         alive=lambda: process.poll() is None)
        except ToxiproxyStartFailed as exc:
            log = self._log_tail()
            self.stop()
            raise ToxiproxyStartFailed(
                f"{binary} did not start on 127.0.0.1:{port} within {self._start_timeout}s "
                f"({exc}); its log ends:\n{log}") from exc
        version = reported
        if reported in ("git", ""):
            version = binary_module_version(binary) or reported
        return ToxiproxyInfo("binary", control.api_url, version.removeprefix("v"), reported,
                             str(binary))

    def _start_container(self) -> ToxiproxyInfo:
        from testcontainers.core.container import DockerContainer

        from syncbench.containers.engine import labels, reaper_off
        from syncbench.containers.images import missing_image

        reaper_off()  # its image cannot be pulled here; our labels and atexit clean up
        port = free_port()
        # Host networking: proxies must listen on, and reach upstreams at, this machine's
        # 127.0.0.1 exactly as with a local binary (this needs a Linux Docker engine). As
        # `network`, not `network_mode`: testcontainers then never picks a network itself.
        kwargs = {"base_url": self._docker_base_url} if self._docker_base_url else {}
        # before testcontainers opens a client (and would try a registry for a missing image)
        if advice := missing_image(self._image, self._docker_base_url):
            raise ToxiproxyStartFailed(advice)
        container = (DockerContainer(self._image, docker_client_kw=kwargs)
                     .with_command(f"-host 127.0.0.1 -port {port}")
                     .with_kwargs(network="host", labels=labels("toxiproxy")))
        try:
            container.start()
        except Exception as exc:
            container.stop()  # created but not started: remove it
            raise ToxiproxyStartFailed(
                f"Docker could not start {self._image}: {exc}. Build it with `make containers`, "
                f"or {HOW_TO_GET_TOXIPROXY}") from exc
        self._container = container
        atexit.register(self.stop)
        control = ToxiproxyControl(f"http://127.0.0.1:{port}", timeout=self._api_timeout)
        try:
            reported = _wait_for_version(control, time.monotonic() + self._start_timeout)
        except ToxiproxyStartFailed:
            self.stop()
            raise
        return ToxiproxyInfo("container", control.api_url, reported.removeprefix("v"),
                             reported, self._image)

    def _log_tail(self, lines: int = 20) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return "\n".join(self._log.read().decode(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop what this object started (a server behind TOXIPROXY_URL is left running)."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None
        container, self._container = self._container, None
        if container is not None:
            container.stop()
        self.info = None

    def __enter__(self) -> ToxiproxyServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> ToxiproxyServer:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)



__all__ = [
    "ToxiproxyInfo", "ToxiproxyServer", "binary_module_version", "default_search_dirs",
    "docker_engine_answers", "find_binary",
]
