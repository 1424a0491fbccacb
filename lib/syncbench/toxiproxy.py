"""A real Toxiproxy server and a thread-safe handle on its API; the only user of toxiproxy-python.

Errors a caller can meet, as one tree:

    ToxiproxyError
    ├── ToxiproxyUnavailable     no URL, no binary and no Docker engine: nothing to start
    ├── ToxiproxyStartFailed     a way was found, but the server did not answer in time
    ├── InvalidToxicSpec         a ToxicSpec Toxiproxy would refuse or silently misread
    └── ToxiproxyRequestFailed   the API did not answer, or answered with an error
        ├── ProxyNotFound
        ├── ProxyAlreadyExists
        ├── ToxicNotFound
        └── ToxicRejected        400/409 on a toxic (bad attributes, name already used)
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
import toxiproxy
import toxiproxy.api
import toxiproxy.exceptions
from toxiproxy.api import APIConsumer

from syncbench.machine import free_port
from syncbench.orphans import die_with_parent

DEFAULT_IMAGE = "ghcr.io/shopify/toxiproxy:2.12.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_TOOLS_BIN = REPO_ROOT / ".tools" / "bin"
BINARY_NAME = "toxiproxy-server"

#: Attribute names each toxic type accepts, as Toxiproxy's Go structs spell them (v2.12).
#: Units: latency/jitter/delay/timeout in ms, rate in KB/s (1 KB = 1000 bytes),
#: bytes and sizes in bytes, except slicer's delay, which is in microseconds.
TOXIC_ATTRIBUTES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "latency": ("latency", "jitter"),
    "bandwidth": ("rate",),
    "slow_close": ("delay",),
    "timeout": ("timeout",),
    "reset_peer": ("timeout",),
    "slicer": ("average_size", "size_variation", "delay"),
    "limit_data": ("bytes",),
})
STREAMS = ("upstream", "downstream")

HOW_TO_GET_TOXIPROXY = (
    "set TOXIPROXY_URL to a running server (e.g. http://127.0.0.1:8474); "
    "or run `make toxiproxy` (needs Go) or put a `toxiproxy-server` binary on PATH or in "
    f"{REPO_TOOLS_BIN}; or start a Docker engine so a {DEFAULT_IMAGE} container can run"
)


class ToxiproxyError(Exception):
    """Base of every error this module raises."""


class ToxiproxyUnavailable(ToxiproxyError):
    """No way to get a Toxiproxy server was found."""


class ToxiproxyStartFailed(ToxiproxyError):
    """A way to get a server was found, but the server did not come up."""


class InvalidToxicSpec(ToxiproxyError, ValueError):
    """A toxic description is wrong; `field` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class ToxiproxyRequestFailed(ToxiproxyError):
    """The Toxiproxy API did not answer in time, or answered with an error."""


class ProxyNotFound(ToxiproxyRequestFailed):
    pass


class ProxyAlreadyExists(ToxiproxyRequestFailed):
    pass


class ToxicNotFound(ToxiproxyRequestFailed):
    pass


class ToxicRejected(ToxiproxyRequestFailed):
    pass


@dataclass(frozen=True)
class ToxicSpec:
    """One toxic as Toxiproxy takes it; checked on creation, since Toxiproxy ignores unknown
    attribute names and accepts any toxicity."""

    type: str
    attributes: Mapping[str, int] = field(default_factory=dict)
    stream: str = "downstream"
    toxicity: float = 1.0
    name: str | None = None

    def __post_init__(self) -> None:
        if self.type not in TOXIC_ATTRIBUTES:
            raise InvalidToxicSpec(
                "type", f"unknown toxic type {self.type!r}; choose one of "
                f"{', '.join(TOXIC_ATTRIBUTES)}")
        if self.stream not in STREAMS:
            raise InvalidToxicSpec(
                "stream", f"{self.stream!r} is not a stream; choose upstream or downstream")
        toxicity = self.toxicity
        if (isinstance(toxicity, bool) or not isinstance(toxicity, int | float)
                or not math.isfinite(toxicity) or not 0 <= toxicity <= 1):
            raise InvalidToxicSpec(
                "toxicity", f"{toxicity!r} is not a probability; give a number from 0 to 1")
        if not isinstance(self.attributes, Mapping):
            raise InvalidToxicSpec("attributes", "give a mapping of attribute name to value")
        allowed = TOXIC_ATTRIBUTES[self.type]
        for key, value in self.attributes.items():
            if key not in allowed:
                raise InvalidToxicSpec(
                    f"attributes.{key}", f"{self.type} has no attribute {key!r}; "
                    f"its attributes are {', '.join(allowed)}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidToxicSpec(
                    f"attributes.{key}", f"{value!r} is not a non-negative integer")
        # Frozen means frozen: callers' dicts must not change a spec after validation.
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        object.__setattr__(self, "toxicity", float(toxicity))

    @property
    def toxic_name(self) -> str:
        """The name the toxic has on the server (Toxiproxy's default when none was given)."""
        return self.name or f"{self.type}_{self.stream}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.toxic_name, "type": self.type, "stream": self.stream,
                "toxicity": self.toxicity, "attributes": dict(self.attributes)}


@dataclass(frozen=True)
class ActiveToxic:
    """A toxic as the server reports it (not validated: the server may hold any toxic)."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class ProxyHandle:
    """A proxy on the server; clients connect to `listen` instead of `upstream`."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port


_ERRORS_BY_MESSAGE: dict[str, type[ToxiproxyRequestFailed]] = {
    "proxy not found": ProxyNotFound,
    "proxy already exists": ProxyAlreadyExists,
    "toxic not found": ToxicNotFound,
    "toxic already exists": ToxicRejected,
}

_HINTS: dict[type[ToxiproxyRequestFailed], str] = {
    ProxyNotFound: "create the proxy first, or check its name",
    ProxyAlreadyExists: "pick another name or delete the existing proxy first",
    ToxicNotFound: "it was already removed (a reset removes every toxic)",
    ToxicRejected: "check the toxic's type, stream and attributes, and that its name is unused",
}


class _Transport:
    """Stands in for the `requests` module inside toxiproxy-python while we hold the lock.

    The client calls requests without a timeout and ignores statuses other than 400/404/409
    (a 500 such as "address already in use" passes silently), so every request goes through
    here: it gets a deadline, and any error status becomes one of our named exceptions.
    """

    def __init__(self, api_url: str, timeout: float) -> None:
        self.api_url = api_url
        self.timeout = timeout
        self.session = requests.Session()

    def get(self, url: str, params: Any = None, **kwargs: Any) -> requests.Response:
        return self._send("GET", url, params=params, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None,
             **kwargs: Any) -> requests.Response:
        return self._send("POST", url, data=data, json=json, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self._send("DELETE", url, **kwargs)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        path = urlsplit(url).path
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise ToxiproxyRequestFailed(
                f"Toxiproxy at {self.api_url} did not answer {method} {path} within "
                f"{self.timeout}s ({exc.__class__.__name__}); check that the server runs "
                f"there, or {HOW_TO_GET_TOXIPROXY}") from exc
        if response.status_code >= 400:
            raise _error_for(response, method, path)
        return response


def _error_for(response: requests.Response, method: str, path: str) -> ToxiproxyRequestFailed:
    try:
        message = str(response.json().get("error", response.text))
    except ValueError:
        message = response.text.strip()
    error = _ERRORS_BY_MESSAGE.get(message)
    if error is None:
        error = ToxicRejected if "/toxics" in path and response.status_code == 400 \
            else ToxiproxyRequestFailed
    hint = _HINTS.get(error, "see the Toxiproxy server's log")
    return error(f"Toxiproxy refused {method} {path} ({response.status_code}: {message}); {hint}")


# toxiproxy-python keeps the server's host and port (and its `requests`) as module-level
# state; one lock around every use makes it safe to talk to several servers from threads.
_CLIENT_LOCK = threading.Lock()


class ToxiproxyControl:
    """Proxies and toxics on one Toxiproxy server, through toxiproxy-python.

    Methods block (HTTP with a deadline of `timeout` seconds); from async code call them
    with `asyncio.to_thread`.
    """

    def __init__(self, api_url: str, timeout: float = 5.0) -> None:
        parts = urlsplit(api_url)
        if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"Toxiproxy API URL {api_url!r} must look like http://HOST:PORT")
        self.api_url = f"http://{parts.hostname}:{parts.port or 8474}"
        self._host = parts.hostname
        self._port = parts.port or 8474
        self._transport = _Transport(self.api_url, timeout)

    def __repr__(self) -> str:
        return f"ToxiproxyControl({self.api_url!r})"

    @contextlib.contextmanager
    def _client(self) -> Iterator[toxiproxy.Toxiproxy]:
        with _CLIENT_LOCK:
            saved = APIConsumer.host, APIConsumer.port, toxiproxy.api.requests
            APIConsumer.host, APIConsumer.port = self._host, self._port
            toxiproxy.api.requests = self._transport  # type: ignore[assignment]
            try:
                yield toxiproxy.Toxiproxy()
            except toxiproxy.exceptions.ProxyExists as exc:
                raise ProxyAlreadyExists(
                    f"Toxiproxy at {self.api_url} already has that proxy; "
                    f"{_HINTS[ProxyAlreadyExists]}") from exc
            finally:
                APIConsumer.host, APIConsumer.port, toxiproxy.api.requests = saved

    @staticmethod
    def _proxy(proxy: ProxyHandle | str) -> toxiproxy.Proxy:
        # The client's Proxy only needs the name to address the API; no GET is needed.
        name = proxy.name if isinstance(proxy, ProxyHandle) else proxy
        return toxiproxy.Proxy(name=name, upstream="", enabled=True, listen="")

    def version(self) -> str:
        """The version the server reports (builds made with `go install` report "git")."""
        with self._client():
            response = APIConsumer.get("/version")
        try:
            return str(response.json()["version"])
        except (ValueError, KeyError, TypeError):
            return response.text.strip()  # servers before 2.6 answer plain text

    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0") -> ProxyHandle:
        """A new proxy from `listen` to `upstream`; with port 0 the server picks a free port."""
        with self._client() as client:
            proxy = client.create(upstream=upstream, name=name, listen=listen)
        return _handle(proxy)

    def get_proxy(self, name: str) -> ProxyHandle:
        proxies = self.list_proxies()
        if name not in proxies:
            raise ProxyNotFound(f"Toxiproxy at {self.api_url} has no proxy {name!r} "
                                f"(it has: {', '.join(sorted(proxies)) or 'none'})")
        return proxies[name]

    def list_proxies(self) -> dict[str, ProxyHandle]:
        with self._client() as client:
            proxies = client.proxies()
        return {name: _handle(proxy) for name, proxy in proxies.items()}

    def delete_proxy(self, proxy: ProxyHandle | str) -> None:
        with self._client():
            self._proxy(proxy).destroy()

    def disable(self, proxy: ProxyHandle | str) -> None:
        """Take the proxy down: open connections drop and new ones are refused (an outage)."""
        with self._client():
            self._proxy(proxy).disable()

    def enable(self, proxy: ProxyHandle | str) -> None:
        with self._client():
            self._proxy(proxy).enable()

    def add_toxic(self, proxy: ProxyHandle | str, spec: ToxicSpec) -> str:
        """Add the toxic; returns its name on the server, which `remove_toxic` takes."""
        with self._client():
            self._proxy(proxy).add_toxic(**spec.to_dict())
        return spec.toxic_name

    def remove_toxic(self, proxy: ProxyHandle | str, toxic: ToxicSpec | str) -> None:
        name = toxic.toxic_name if isinstance(toxic, ToxicSpec) else toxic
        with self._client():
            self._proxy(proxy).destroy_toxic(name)

    def list_toxics(self, proxy: ProxyHandle | str) -> list[ActiveToxic]:
        with self._client():
            toxics = self._proxy(proxy).toxics()
        return [ActiveToxic(name=t.name, type=t.type, stream=t.stream, toxicity=t.toxicity,
                            attributes=MappingProxyType(dict(t.attributes)))
                for t in toxics.values()]

    def clear_toxics(self, proxy: ProxyHandle | str) -> None:
        for toxic in self.list_toxics(proxy):
            with contextlib.suppress(ToxicNotFound):
                self.remove_toxic(proxy, toxic.name)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic on the server."""
        with self._client() as client:
            client.reset()

    def delete_all_proxies(self) -> None:
        for name in self.list_proxies():
            with contextlib.suppress(ProxyNotFound):
                self.delete_proxy(name)


def _handle(proxy: toxiproxy.Proxy) -> ProxyHandle:
    return ProxyHandle(name=proxy.name, listen=proxy.listen, upstream=proxy.upstream,
                       enabled=bool(proxy.enabled))


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
                                         preexec_fn=die_with_parent())
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

        port = free_port()
        # Host networking: proxies must listen on, and reach upstreams at, this machine's
        # 127.0.0.1 exactly as with a local binary (this needs a Linux Docker engine).
        kwargs = {"base_url": self._docker_base_url} if self._docker_base_url else {}
        container = (DockerContainer(self._image, docker_client_kw=kwargs)
                     .with_command(f"-host 127.0.0.1 -port {port}")
                     .with_kwargs(network_mode="host"))
        try:
            container.start()
        except Exception as exc:
            raise ToxiproxyStartFailed(
                f"Docker could not start {self._image}: {exc}. Pull the image, or "
                f"{HOW_TO_GET_TOXIPROXY}") from exc
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
    "DEFAULT_IMAGE", "STREAMS", "TOXIC_ATTRIBUTES", "ActiveToxic", "InvalidToxicSpec",
    "ProxyAlreadyExists", "ProxyHandle", "ProxyNotFound", "ToxicNotFound", "ToxicRejected",
    "ToxicSpec", "ToxiproxyControl", "ToxiproxyError", "ToxiproxyInfo", "ToxiproxyRequestFailed",
    "ToxiproxyServer", "ToxiproxyStartFailed", "ToxiproxyUnavailable", "binary_module_version",
    "default_search_dirs", "docker_engine_answers", "find_binary",
]
