"""Faults between the servers and their database (stacks on PostgreSQL: store="postgresql").

    db_link     a network profile or one toxic on one replica's link to the database
                (`target: server-1`; latency, resets, timeouts: Toxiproxy's toxics)
    db_outage   one replica's database link cut: new connections refused, open ones cut
    db_restart  the database server stopped for the window (`immediate`, the default: as a
                crash, recovered from the WAL at the next start; false: a clean shutdown)
                and started again when it ends (`target: database`)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from syncbench.nemesis.kinds import FaultError, FaultKind, register_fault
from syncbench.nemesis.network import NetworkFault

if TYPE_CHECKING:
    from syncbench.stack import Stack
    from syncbench.stack_database import StackDatabase


def database_of(stack: Stack, kind: str, target: str | None = None) -> StackDatabase:
    """The stack's database (and `target`'s link to it); FaultError when there is none."""
    database = getattr(stack, "database", None)
    if database is None:
        raise FaultError(f"{kind} fault: the stack has no database of its own; start it with "
                         "store='postgresql' (a study: -p store=postgresql)")
    if target is not None and target not in database.links:
        raise FaultError(f"{kind} fault: no database link for {target!r}; links: "
                         f"{', '.join(database.links)}")
    return database


@register_fault
class DatabaseLinkFault(NetworkFault):
    """NetworkFault's options (`profile` or `toxic`), on a replica's database link."""

    name = "db_link"
    target_kind = "database_link"

    def label(self, options: Mapping[str, Any]) -> str:
        return f"db {super().label(options)}"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        return await database_of(stack, self.name, target).apply_profile(
            target, self._profile(stack, options))

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await database_of(stack, self.name).remove_profile(handle)


@register_fault
class DatabaseOutageFault(FaultKind):
    """A replica loses its database: connections refused and cut for the window."""

    name = "db_outage"
    target_kind = "database_link"

    def label(self, options: Mapping[str, Any]) -> str:
        return "database unreachable"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        await database_of(stack, self.name, target).cut(target)
        return None

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await database_of(stack, self.name, target).restore(target)


@register_fault
class DatabaseRestartFault(FaultKind):
    """The database server down for the window (`immediate`: as a crash), then started."""

    name = "db_restart"
    target_kind = "database"
    option_names = ("immediate",)

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        options = super().options(raw)
        immediate = options.get("immediate", True)
        if not isinstance(immediate, bool):
            raise FaultError(f"db_restart fault: immediate must be true or false, got {immediate!r}")
        return {"immediate": immediate}

    def label(self, options: Mapping[str, Any]) -> str:
        return "database crashed" if options.get("immediate", True) else "database restarting"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        if target != "database":
            raise FaultError(f"db_restart fault: the target is `database`, not {target!r}")
        await database_of(stack, self.name).stop(immediate=bool(options.get("immediate", True)))
        return None

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await database_of(stack, self.name).start_again()


__all__ = ["DatabaseLinkFault", "DatabaseOutageFault", "DatabaseRestartFault", "database_of"]
