"""The `client_clock` fault kind: one client's clock runs `skew_s` seconds off real time.

A client reads its clock through `client_clocks(stack).clock(name)` (the study gives that to
each Replica it makes); while a `client_clock` fault is on for target `name`, that clock is off by
`skew_s`. So clock skew is a fault like the others: started and stopped by the Nemesis,
recorded in the History, in the schedule and in the fault windows.

It lives with the conflicts study, the one study that skews clocks today; any study whose
clients take a clock function can use it (it registers globally, by name, on import).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from syncbench.nemesis import FaultError, FaultKind, register_fault

if TYPE_CHECKING:
    from syncbench.stack import Stack

MAX_SKEW_S = 86_400.0


class ClientClocks:
    """The clocks of one stack's clients, by client name; each real time unless skewed
    (the `client_clock` fault) or pinned to one instant (`pinned`: a tie made on purpose)."""

    def __init__(self) -> None:
        self._skew: dict[str, float] = {}
        self._pinned: dict[str, datetime] = {}

    def clock(self, name: str) -> Callable[[], datetime]:
        """A clock function for client `name` (what Replica(clock=...) takes)."""
        skew, pinned = self._skew, self._pinned

        def now() -> datetime:
            if name in pinned:
                return pinned[name]
            return datetime.now(UTC) + timedelta(seconds=skew.get(name, 0.0))

        return now

    @contextmanager
    def pinned(self, name: str, moment: datetime | None) -> Iterator[None]:
        """Client `name`'s clock reads exactly `moment` inside the block (None: unchanged).

        A write stamped with the instant the server stamped the task it meets makes an
        exact last_write_wins tie, which no skew can make reliably (microseconds)."""
        if moment is None:
            yield
            return
        self._pinned[name] = moment
        try:
            yield
        finally:
            self._pinned.pop(name, None)

    def skew(self, name: str) -> float:
        return self._skew.get(name, 0.0)

    def set(self, name: str, skew_s: float) -> None:
        self._skew[name] = skew_s

    def reset(self, name: str) -> None:
        self._skew.pop(name, None)


_CLOCKS: WeakKeyDictionary[Any, ClientClocks] = WeakKeyDictionary()


def client_clocks(stack: Stack) -> ClientClocks:
    """The ClientClocks of `stack` (made on first use, gone with the stack)."""
    clocks = _CLOCKS.get(stack)
    if clocks is None:
        clocks = _CLOCKS[stack] = ClientClocks()
    return clocks


@register_fault
class ClockFault(FaultKind):
    """`skew_s`: seconds the target client's clock runs ahead (> 0) or behind (< 0)."""

    name = "client_clock"
    target_kind = "client"
    option_names = ("skew_s",)

    def options(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        options = super().options(raw)
        skew = options.get("skew_s")
        if (isinstance(skew, bool) or not isinstance(skew, int | float)
                or not math.isfinite(skew) or skew == 0 or abs(skew) > MAX_SKEW_S):
            raise FaultError("client_clock fault: skew_s must be a number of seconds, not 0, within "
                             f"-{MAX_SKEW_S:g}..{MAX_SKEW_S:g}, got {skew!r}")
        return {"skew_s": float(skew)}

    def label(self, options: Mapping[str, Any]) -> str:
        return f"client clock {options['skew_s']:+g}s"

    async def start(self, stack: Stack, target: str, options: Mapping[str, Any]) -> Any:
        client_clocks(stack).set(target, options["skew_s"])
        return None

    async def stop(self, stack: Stack, target: str, handle: Any) -> None:
        client_clocks(stack).reset(target)


__all__ = ["ClientClocks", "ClockFault", "client_clocks"]
