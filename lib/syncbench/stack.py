"""Everything one study needs, started and wired: tasksync server, Toxiproxy, proxies.

    async with Stack(StackConfig(groups=("phones", "laptops"))) as stack:
        client = stack.http_client("phones")          # goes through the "phones" proxy
        await stack.apply_profile("phones", "mobile-3g")

What to start is a StackConfig (syncbench.stack_config). Each client group has its own
Toxiproxy proxy in front of the server, so a fault can hit some clients and spare others.
Clients and replicas handed out are closed, and every
process started is stopped, when the block ends, even when it ends with an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from syncbench.containers.server import TasksyncContainer
from syncbench.fake_clock import ServerClock
from syncbench.profiles import (
    AppliedProfile,
    NetworkProfile,
    apply_profile,
    get_profile,
    remove_profile,
)
from syncbench.qdrant import RunQdrant, start_qdrant
from syncbench.server_process import TasksyncProcess
from syncbench.stack_config import SERVER, StackConfig, StackError, server_names
from syncbench.stack_database import StackDatabase
from syncbench.toxiproxy import ProxyHandle, ToxiproxyControl, ToxiproxyInfo, ToxiproxyServer
from tasksync.client import BatchClient, HTTPClient, WebSocketClient
from tasksync.replica import Replica

_RUNNING: weakref.WeakSet[Stack] = weakref.WeakSet()  # started and not stopped


def stop_running_stacks() -> int:
    """Stop every stack this process started and has not stopped (see Stack.stop_now); how
    many there were."""
    stacks = list(_RUNNING)
    for stack in stacks:
        stack.stop_now()
    return len(stacks)


# Reads of the server's state (final states, the change and conflict logs) are the study's
# evidence: on a loaded machine (two studies' servers and kernels on two cores) one has taken
# over 10 s, and a run lost to that timeout proves nothing, so they wait longer.
ADMIN_TIMEOUT_S = 30.0


@dataclass
class _Group:
    proxy: ProxyHandle
    server: str  # the replica this group's clients reach
    applied: list[AppliedProfile] = field(default_factory=list)


class Stack:
    """A running tasksync server behind one Toxiproxy proxy per client group."""

    def __init__(self, config: StackConfig | None = None, **overrides: Any) -> None:
        base = config or StackConfig()
        self.config = StackConfig(**{**base.__dict__, **overrides}) if overrides else base
        self.toxiproxy_info: ToxiproxyInfo | None = None
        # the embedded servers by name ("server", "server-1", ...): replicas of one database
        # (processes; containers for target "container")
        self.servers: dict[str, TasksyncProcess | TasksyncContainer] = {}
        self.database: StackDatabase | None = None  # store "postgresql": links, restarts
        self.qdrant: RunQdrant | None = None  # store "qdrant": which Qdrant, and its container
        self.server_clock: ServerClock | None = None
        # the client commands (child processes) running now, by client name: what a client
        # crash kills (see syncbench.nemesis.clients)
        self.client_commands: dict[str, list[Any]] = {}
        # clients a client crash waits on: each syncs in the background meanwhile, as a
        # device does, so that the crash meets a sync (see CliActor.idle)
        self.syncs_wanted: set[str] = set()
        self._toxiproxy: ToxiproxyServer | None = None
        self._control: ToxiproxyControl | None = None
        self._groups: dict[str, _Group] = {}
        self._closables: list[Any] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._ids = itertools.count(1)
        self.server_url = ""

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> Stack:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        config = self.config
        _RUNNING.add(self)
        if config.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="syncbench-")
        self.workdir = Path(self._tmp.name if self._tmp else config.workdir)  # type: ignore[arg-type]
        self.workdir.mkdir(parents=True, exist_ok=True)
        if config.target == "container":
            from syncbench.containers.engine import sweep_orphans

            # containers of runs that died without removing them (a killed kernel)
            await asyncio.to_thread(sweep_orphans)
        # the container target runs Toxiproxy as a container too (unless TOXIPROXY_URL names one)
        self._toxiproxy = ToxiproxyServer(prefer_container=config.target == "container")
        self.toxiproxy_info = await asyncio.to_thread(self._toxiproxy.start)
        self._control = self._toxiproxy.control()
        if config.target in ("embedded", "container"):
            await self._start_servers()
            self.server_url = self.servers[SERVER].base_url
        else:
            self.server_url = str(config.url).rstrip("/")
            await self._check_reachable(self.server_url)
        for index, group in enumerate(config.groups):
            name = self.server_names[index % len(self.server_names)]
            upstream = (self.servers[name].base_url if name in self.servers
                        else self.server_url).split("://", 1)[1]
            proxy = await asyncio.to_thread(
                self._control.create_proxy, f"tasksync-{group}-{id(self):x}", upstream)
            self._groups[group] = _Group(proxy, name)
        if config.base_profile is not None:
            for group in config.groups:
                await self.apply_profile(group, config.base_profile)

    async def _start_servers(self) -> None:
        config = self.config
        env = None
        if config.fake_clock:
            self.server_clock = ServerClock(self.workdir / "server.clock")
            env = self.server_clock.environment()
        stores: dict[str, tuple[str, ...]] = {name: () for name in self.server_names}
        if config.store == "qdrant":
            self.qdrant = await asyncio.to_thread(start_qdrant)
            env = {**(env or {}), **self.qdrant.env}
            stores = {name: ("--store", "qdrant") for name in self.server_names}
        if config.store == "postgresql":
            self.database = StackDatabase(self.control, self.profile)
            urls = await self.database.open(self.server_names, f"{id(self):x}")
            stores = {name: ("--store", url) for name, url in urls.items()}
        for name in self.server_names:
            options = ("--enable-fault-injection", *stores[name], *config.server_options)
            self.servers[name] = (
                self._server_container(name, options, env) if config.target == "container"
                else TasksyncProcess(self.workdir, *options, name=name,
                                     start_timeout=config.start_timeout, env=env))
        await asyncio.gather(*(asyncio.to_thread(server.start)
                               for server in self.servers.values()))

    def _server_container(self, name: str, options: tuple[str, ...],
                          env: Mapping[str, str] | None) -> TasksyncContainer:
        from syncbench.containers.images import server_image

        config = self.config
        # our image runs `tasksync serve` with the stack's options; another runs its own
        return TasksyncContainer(
            self.workdir, *options, image=config.image or server_image(), name=name,
            port=config.image_port, health_path=config.image_health,
            command=config.image_command or None, tasksync=config.runs_our_image,
            start_timeout=max(config.start_timeout, 60.0), env=env)

    async def stop(self) -> None:
        """Close clients and replicas, remove proxies, stop Toxiproxy and the server."""
        closables, self._closables = self._closables, []
        for closable in reversed(closables):
            with contextlib.suppress(Exception):
                await closable.aclose() if hasattr(closable, "aclose") else await closable.close()
        if self._control is not None:
            for group in self._groups.values():
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._control.delete_proxy, group.proxy)
        self._groups.clear()
        await asyncio.gather(*(asyncio.to_thread(server.close) for server in self.servers.values()))
        if self._toxiproxy is not None:
            await asyncio.to_thread(self._toxiproxy.stop)
            self._toxiproxy = None
        if self.database is not None:
            await asyncio.to_thread(self.database.close)
        if self.qdrant is not None:
            await asyncio.to_thread(self.qdrant.stop)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        _RUNNING.discard(self)

    def stop_now(self) -> None:
        """Stop Toxiproxy and the server at once, without the event loop: for when the loop
        itself was interrupted (Kernel > Interrupt) and `stop` will never run."""
        for server in self.servers.values():
            with contextlib.suppress(Exception):
                server.close()
        if self._toxiproxy is not None:
            with contextlib.suppress(Exception):
                self._toxiproxy.stop()
            self._toxiproxy = None
        if self.database is not None:
            with contextlib.suppress(Exception):
                self.database.close()
        for processes in self.client_commands.values():
            for running in processes:
                with contextlib.suppress(ProcessLookupError, AttributeError):
                    running.process.kill()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()
            self._tmp = None
        _RUNNING.discard(self)

    async def _check_reachable(self, url: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                response = await http.get(f"{url}/health")
        except httpx.HTTPError as exc:
            raise StackError(f"no tasksync server answers at {url} ({exc}); start one with"
                             " `tasksync serve` or use target 'embedded'") from exc
        if response.status_code != 200:
            raise StackError(f"{url}/health answered {response.status_code}: {response.text[:200]}")

    # -- addresses ----------------------------------------------------------------------

    def _group(self, group: str) -> _Group:
        if group not in self._groups:
            raise StackError(f"unknown client group {group!r}; this stack has {', '.join(self._groups)}")
        return self._groups[group]

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self._groups)

    @property
    def server(self) -> TasksyncProcess | TasksyncContainer | None:
        """The first (or only) embedded server; None for target "url"."""
        return self.servers.get(SERVER)

    @property
    def server_names(self) -> tuple[str, ...]:
        """The servers' names: "server", then "server-1", "server-2", ... for replicas."""
        return server_names(self.config.replicas)

    def store_description(self) -> str:
        """Which store the servers run on, and where its database comes from (and, for the
        container target, that they run in containers of which image)."""
        if self.qdrant is not None:
            store = self.qdrant.description
        elif self.database is None:
            store = self.config.store if self.servers else "the server at the url's own"
        else:
            store = (f"postgresql ({self.database.run.version()}; {self.database.source}); "
                     f"{len(self.servers)} server replica(s)")
        return f"{store}; {self.target_description()}" if self.config.target == "container" \
            else store

    def target_description(self) -> str:
        """Where the servers run: processes, a url, or containers of which image."""
        if self.config.target == "url":
            return f"the server at {self.server_url}"
        if self.config.target == "embedded":
            return "tasksync serve process(es) on 127.0.0.1"
        images = sorted({server.image for server in self.servers.values()
                         if isinstance(server, TasksyncContainer)})
        toxiproxy = self.toxiproxy_info.origin if self.toxiproxy_info else "?"
        return (f"server container(s) of {', '.join(images)} and Toxiproxy from {toxiproxy}, "
                "host network")

    def server_of(self, group: str) -> str:
        """The name of the replica `group`'s clients reach."""
        return self._group(group).server

    @property
    def control(self) -> ToxiproxyControl:
        if self._control is None:
            raise StackError("the stack is not started; use `async with Stack(...)`")
        return self._control

    def proxy(self, group: str = "default") -> ProxyHandle:
        return self._group(group).proxy

    def url(self, group: str = "default") -> str:
        """The HTTP base URL clients of `group` use (through their proxy)."""
        host, port = self.proxy(group).address
        return f"http://{host}:{port}"

    def ws_url(self, group: str = "default") -> str:
        host, port = self.proxy(group).address
        return f"ws://{host}:{port}/ws"

    # -- clients ------------------------------------------------------------------------

    def _client_id(self, prefix: str, client_id: str | None) -> str:
        return client_id or f"{prefix}-{next(self._ids)}"

    def http_client(self, group: str = "default", client_id: str | None = None,
                    **options: Any) -> HTTPClient:
        client = HTTPClient(self.url(group), client_id=self._client_id(group, client_id), **options)
        self._closables.append(client)
        return client

    def raw_http(self, group: str = "default", timeout: float = 10.0) -> httpx.AsyncClient:
        """A bare httpx client through `group`'s proxy, for requests tasksync.client would
        never send (no headers of its own: each request brings them)."""
        client = httpx.AsyncClient(base_url=self.url(group), timeout=timeout, trust_env=False)
        self._closables.append(client)
        return client

    def direct_client(self, client_id: str = "syncbench-admin", **options: Any) -> HTTPClient:
        """A client that bypasses Toxiproxy (for setup and for reading final state)."""
        client = HTTPClient(self.server_url, client_id=client_id, **options)
        self._closables.append(client)
        return client

    def batch_client(self, group: str = "default", client_id: str | None = None,
                     **options: Any) -> BatchClient:
        client = BatchClient(self.url(group), client_id=self._client_id(group, client_id), **options)
        self._closables.append(client)
        return client

    def ws_client(self, repositories: Mapping[str, int] | Sequence[str], group: str = "default",
                  client_id: str | None = None, **options: Any) -> WebSocketClient:
        client = WebSocketClient(self.ws_url(group), repositories,
                                 client_id=self._client_id(f"{group}-ws", client_id), **options)
        self._closables.append(client)
        return client

    def replica(self, name: str, group: str = "default", repository: str = "default",
                **options: Any) -> Replica:
        """An offline-first Replica in its own SQLite file, syncing through `group`'s proxy."""
        replica = Replica(self.workdir / f"replica-{name}.db", self.url(group), client_id=name,
                          repository=repository, **options)
        self._closables.append(replica)
        return replica

    # -- network faults -----------------------------------------------------------------

    def profile(self, name: str) -> NetworkProfile:
        from syncbench.profiles import load_profiles

        profiles = load_profiles(self.config.profiles_path) if self.config.profiles_path else None
        return get_profile(name, profiles)

    async def apply_profile(self, group: str, profile: str | NetworkProfile) -> AppliedProfile:
        """Put a named network condition on `group`'s proxy (on top of any already there)."""
        chosen = self.profile(profile) if isinstance(profile, str) else profile
        entry = self._group(group)
        applied = await asyncio.to_thread(apply_profile, self.control, entry.proxy, chosen)
        entry.applied.append(applied)
        return applied

    async def remove_profile(self, group: str, applied: AppliedProfile) -> None:
        """Take one applied profile off `group`'s proxy (what `apply_profile` returned)."""
        entry = self._group(group)
        await asyncio.to_thread(remove_profile, self.control, applied)
        # still tracked if that failed, so the stack's teardown takes it off
        if applied in entry.applied:
            entry.applied.remove(applied)

    async def clear_profiles(self, group: str | None = None) -> None:
        """Take every applied profile off `group` (or off every group)."""
        for name in [group] if group else list(self._groups):
            entry = self._group(name)
            while entry.applied:
                await asyncio.to_thread(remove_profile, self.control, entry.applied.pop())

    async def go_offline(self, group: str) -> None:
        """Refuse new connections and cut open ones on `group`'s proxy."""
        await asyncio.to_thread(self.control.disable, self.proxy(group))

    async def go_online(self, group: str) -> None:
        await asyncio.to_thread(self.control.enable, self.proxy(group))

    # -- the server process (embedded only) ---------------------------------------------

    def _embedded(self, what: str, server: str = SERVER) -> TasksyncProcess | TasksyncContainer:
        if not self.servers:
            raise StackError(f"{what} needs the embedded server (a process this stack "
                             "started); an external server cannot be signalled")
        if server not in self.servers:
            raise StackError(f"{what}: no server {server!r}; this stack has "
                             f"{', '.join(self.servers)}")
        return self.servers[server]

    async def crash_server(self, server: str = SERVER) -> bool:
        """SIGKILL the server: no shutdown code runs, requests in flight get no answer.
        Whether the kill ended it (False when it was not running)."""
        return await asyncio.to_thread(self._embedded("a server crash", server).kill)

    async def stop_server(self, server: str = SERVER) -> int:
        """SIGTERM the server and wait for it to exit (a graceful shutdown: WebSocket
        clients are closed with 1012); its exit code."""
        return await asyncio.to_thread(self._embedded("a server restart", server).stop)

    async def start_server_again(self, server: str = SERVER) -> None:
        """Start the stopped or crashed server again, on the same database and the same
        port, so the proxies (and through them every client) reach it as before."""
        await asyncio.to_thread(self._embedded("a server restart", server).start)

    def server_url_of(self, server: str = SERVER) -> str:
        """A server's own address (no proxy): for administration and evidence."""
        return self._embedded("a direct address", server).base_url if self.servers \
            else self.server_url

    async def writes_in_flight(self, server: str = SERVER) -> float:
        """Writes the server has received and not answered yet (its /metrics gauge)."""
        async with httpx.AsyncClient(base_url=self.server_url_of(server), timeout=10) as http:
            text = (await http.get("/metrics")).text
        for line in text.splitlines():
            if line.startswith("tasksync_writes_in_flight "):
                return float(line.split()[1])
        raise StackError("the server's /metrics has no tasksync_writes_in_flight")

    async def server_time(self) -> str:
        """The server's wall clock as it stamps writes (from /health)."""
        health = await self._admin("GET", "/health")
        return str(health["time"])

    # -- server administration (direct, never through Toxiproxy) ------------------------

    async def _admin(self, method: str, path: str, server: str = SERVER, **kwargs: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.server_url_of(server),
                                     timeout=ADMIN_TIMEOUT_S) as http:
            try:
                response = await http.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                # the evidence of a stalled server is in its log: bring it along
                log = self.servers[server].log_tail(40) if server in self.servers else ""
                raise StackError(f"the server did not answer {method} {path} within "
                                 f"{ADMIN_TIMEOUT_S:g} s ({type(exc).__name__}); its log "
                                 f"ends:\n{log or '(empty)'}") from exc
        if response.status_code == 404 and "faults" in path:
            raise StackError("the server has no fault injection; start it with"
                             " --enable-fault-injection (the embedded target does)")
        response.raise_for_status()
        return response.json()

    async def set_storage_faults(self, error_rate: float = 0.0, delay_ms: float = 0.0,
                                 seed: int = 0, server: str = SERVER) -> dict:
        return await self._admin("POST", "/api/v1/admin/faults", server, json={
            "storage_error_rate": error_rate, "storage_delay_ms": delay_ms, "seed": seed})

    async def clear_storage_faults(self, server: str = SERVER) -> dict:
        return await self._admin("DELETE", "/api/v1/admin/faults", server)

    async def breaker(self, server: str = SERVER) -> dict:
        """A server's breaker state and transition log."""
        return await self._admin("GET", "/api/v1/admin/breaker", server)

    async def server_tasks(self, repository: str) -> dict[str, Any]:
        """Every task of `repository` on the server, tombstones included, by id."""
        tasks: dict[str, Any] = {}
        token: str | None = None
        while True:
            params = {"repository": repository, "limit": 1000, "include_deleted": "true"}
            if token:
                params["page_token"] = token
            page = await self._admin("GET", "/api/v1/tasks", params=params)
            tasks.update({task["id"]: task for task in page["tasks"]})
            token = page["next"]
            if token is None:
                return tasks

    async def change_log(self, repository: str) -> list[dict]:
        """The repository's whole change log (as far as it is retained)."""
        events: list[dict] = []
        after = 0
        while True:
            page = await self._admin("GET", f"/api/v1/repositories/{repository}/changes",
                                     params={"after": after, "limit": 10_000})
            events += page["events"]
            if not page["has_more"] or not page["events"]:
                return events
            after = page["events"][-1]["seq"]

    async def conflict_log(self, repository: str) -> list[dict]:
        page = await self._admin("GET", f"/api/v1/repositories/{repository}/conflicts",
                                 params={"limit": 10_000})
        return page["conflicts"]
