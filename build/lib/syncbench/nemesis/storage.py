"""Storage faults: the server's storage fails a fraction of requests and/or answers slowly.

Needs a server started with --enable-fault-injection (the embedded stack does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from syncbench.nemesis.kinds import (
    FaultError,
    FaultKind,
    number_option,
    register_fault,
    server_named,
)

if TYPE_CHECKING:
    from syncbench.stack import Stack


@register_fault
class StorageFault(FaultKind):
    """`error_rate` (0..1) of storage calls fail; each waits `delay_ms` first; `seed`."""

    name = "storage"
    target_kind = "server"
    option_names = ("error_rate", "delay_ms", "seed")

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        options = super().options(raw)
        checked = {"error_rate": number_option(self.name, options, "error_rate", 0.0, 1.0),
                   "delay_ms": number_option(self.name, options, "delay_ms", 0.0, 600_000.0)}
        seed = options.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise FaultError(f"storage fault: seed must be an integer, got {seed!r}")
        if not (checked["error_rate"] or checked["delay_ms"]):
            raise FaultError("storage fault: give error_rate > 0 or delay_ms > 0")
        return {**checked, "seed": seed}

    def label(self, options: Mapping[str, Any]) -> str:
        parts = []
        if options.get("error_rate"):
            parts.append(f"{options['error_rate']:.0%} errors")
        if options.get("delay_ms"):
            parts.append(f"+{options['delay_ms']:g} ms")
        return "storage " + ", ".join(parts)

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        await stack.set_storage_faults(options["error_rate"], options["delay_ms"],
                                       options.get("seed", 0), server=server_named(stack, self.name, target))
        return None

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        await stack.clear_storage_faults(server=server_named(stack, self.name, target))


__all__ = ["StorageFault"]
