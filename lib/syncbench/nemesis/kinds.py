"""Fault kinds, registered by name: each knows its options, how to start and how to stop.

A kind is one small class (Toxiproxy's toxics are the model: one file-sized idea each,
registered by name). The nemesis calls `start` and `stop` and records both in the History;
the kind only does the work:

    network       a network profile or one toxic on a client group's proxy (Toxiproxy)
    offline       a client group cut off: its proxy refuses new connections, cuts open ones
    partition     a client group's packets dropped: both ways, or only the replies
    storage       the server's storage fails a fraction of writes and/or is slow
    crash         a server SIGKILLed, started again on its database and port at the end
    restart       the server SIGTERMed (graceful: WebSockets closed 1012), started again
    pause         the server SIGSTOPped for the window: open sockets, no answers
    clock         the server's wall clock off or drifting (the real libfaketime)
    client_crash  a CLI replica's `tasksync sync` SIGKILLed mid-way; it syncs again later
    db_link       a profile or toxic on one server replica's link to PostgreSQL
    db_outage     one server replica's database link cut
    db_restart    the database server crashed (or stopped) and started again
    container_pause   a server container frozen (docker pause), unpaused at the end
    container_kill    a server container killed (docker kill), started again at the end

Server faults take `target: server`, or a replica of a stack on PostgreSQL: `server-1`, ...
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from syncbench.stack import Stack


class FaultError(ValueError):
    """A fault's options are wrong; the message names the option and what it accepts."""


class FaultKind(ABC):
    """One kind of fault. `options` checks and normalises what a schedule gives it."""

    name: ClassVar[str]
    # what `target` names: "group" (a client group's proxy), "server" (a server or replica
    # by name), "client" (a client process by name), "database_link" (a replica's link to
    # the database, by the replica's name) or "database"
    target_kind: ClassVar[str] = "group"
    option_names: ClassVar[tuple[str, ...]] = ()

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The checked options (plain data); FaultError for an unknown or bad one."""
        unknown = sorted(set(raw) - set(self.option_names))
        if unknown:
            accepted = ", ".join(self.option_names) or "none"
            raise FaultError(f"{self.name} fault: unknown option {unknown[0]!r}; "
                             f"options: {accepted}")
        return dict(raw)

    def label(self, options: Mapping[str, Any]) -> str:
        """A short name for charts and logs ("wan", "offline", "storage 50% +200ms")."""
        return self.name

    @abstractmethod
    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        """Put the fault on; return whatever `stop` needs to take exactly it off."""

    @abstractmethod
    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        """Take the fault off (already gone is fine)."""

    def evidence(self, handle: Any) -> dict[str, Any]:
        """What `start` saw that shows the fault is really on (recorded in its start
        operation, for the paths a study counts); nothing by default."""
        return {}


def number_option(kind: str, options: Mapping[str, Any], name: str, low: float, high: float,
                  default: float = 0.0, unit: str = "") -> float:
    """Option `name` of a `kind` fault as a finite number within low..high (`default` when
    not given); FaultError naming the option, the range and the value otherwise."""
    value = options.get(name, default)
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or not low <= value <= high):
        raise FaultError(f"{kind} fault: {name} must be a number{unit} within "
                         f"{low:g}..{high:g}, got {value!r}")
    return float(value)


def server_named(stack: Stack, kind: str, target: str) -> str:
    """`target` when it names one of the stack's embedded servers ("server", replicas
    "server-N"); "server" for a stack without embedded servers (an external one);
    FaultError naming the servers there are otherwise."""
    servers = getattr(stack, "servers", {})
    if servers and target not in servers:
        raise FaultError(f"{kind} fault: no server {target!r}; this stack has "
                         f"{', '.join(servers)}")
    return target if servers else "server"


_KINDS: dict[str, FaultKind] = {}


def register_fault(kind: type[FaultKind]) -> type[FaultKind]:
    """Class decorator: register a fault kind under its `name`."""
    _KINDS[kind.name] = kind()
    return kind


def fault_kind(name: str) -> FaultKind:
    """The registered kind `name`; FaultError naming the kinds there are."""
    if name not in _KINDS:
        raise FaultError(f"unknown fault kind {name!r}; kinds: {', '.join(sorted(_KINDS))}")
    return _KINDS[name]


def fault_kinds() -> dict[str, FaultKind]:
    """Every registered fault kind by name."""
    return dict(_KINDS)


__all__ = ["FaultError", "FaultKind", "fault_kind", "fault_kinds", "number_option",
           "register_fault", "server_named"]
