"""The database of a stack on PostgreSQL: one database for every replica, a Toxiproxy
proxy between each replica and it (so one replica's link can be faulted alone), and the
database server's restarts (when the stack started it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from syncbench.postgres import (
    DATABASE_URL_ENV,
    LocalPostgres,
    RunDatabase,
    address_of,
    with_address,
)
from syncbench.profiles import AppliedProfile, NetworkProfile, apply_profile, remove_profile
from syncbench.toxiproxy import ProxyHandle, ToxiproxyControl


class DatabaseError(RuntimeError):
    """A database operation this stack cannot do; the message says what would allow it."""


class StackDatabase:
    """The run's database and each replica's link to it."""

    def __init__(self, control: ToxiproxyControl,
                 profile: Callable[[str], NetworkProfile]) -> None:
        self.control = control
        self._profile = profile
        self.run = RunDatabase()
        self.links: dict[str, ProxyHandle] = {}

    async def open(self, servers: tuple[str, ...], suffix: str) -> dict[str, str]:
        """Create the database and a proxy per server; each server's URL (through its proxy)."""
        url = await asyncio.to_thread(self.run.open)
        upstream = "{}:{}".format(*address_of(url))
        urls = {}
        for server in servers:
            proxy = await asyncio.to_thread(self.control.create_proxy,
                                            f"database-{server}-{suffix}", upstream)
            self.links[server] = proxy
            urls[server] = with_address(url, *proxy.address)
        return urls

    @property
    def url(self) -> str:
        """The database's own URL (no proxy): for evidence and administration."""
        return self.run.url

    @property
    def source(self) -> str:
        return self.run.source

    def link(self, server: str) -> ProxyHandle:
        if server not in self.links:
            raise DatabaseError(f"no database link for {server!r}; links: "
                                f"{', '.join(self.links) or 'none'}")
        return self.links[server]

    async def apply_profile(self, server: str, profile: str | NetworkProfile) -> AppliedProfile:
        """A network condition on `server`'s link to the database."""
        chosen = self._profile(profile) if isinstance(profile, str) else profile
        return await asyncio.to_thread(apply_profile, self.control, self.link(server), chosen)

    async def remove_profile(self, applied: AppliedProfile) -> None:
        await asyncio.to_thread(remove_profile, self.control, applied)

    async def cut(self, server: str) -> None:
        """`server` loses the database: new connections refused, open ones cut."""
        await asyncio.to_thread(self.control.disable, self.link(server))

    async def restore(self, server: str) -> None:
        await asyncio.to_thread(self.control.enable, self.link(server))

    def _local(self, what: str) -> LocalPostgres:
        if self.run.local is None:
            raise DatabaseError(f"{what} needs a PostgreSQL the stack started (unset "
                                f"{DATABASE_URL_ENV}); an external one is not restarted")
        return self.run.local

    async def stop(self, immediate: bool = True) -> None:
        """Stop PostgreSQL: `immediate` as a crash (the next start recovers from the WAL),
        else a clean shutdown."""
        local = self._local("a database restart")
        await asyncio.to_thread(local.crash if immediate else local.stop)

    async def start_again(self) -> None:
        await asyncio.to_thread(self._local("a database restart").start)

    def close(self) -> None:
        self.links.clear()
        self.run.close()
