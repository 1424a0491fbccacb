"""How far another process's wall clock is from ours, measured the way NTP does it: ask for
its time, note ours before and after, and take the exchange with the shortest round trip
(its midpoint is the best guess of when the other clock was read).

    offset = await measure_offset(lambda: actor.now.remote())   # seconds theirs is ahead
    our_time = their_time - offset.offset_s

Only times are corrected with it (a delivery's arrival, for a latency); ordering never
rests on it: what happened first is the server's `seq`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

SAMPLES = 9


@dataclass(frozen=True)
class ClockOffset:
    offset_s: float  # their clock minus ours
    round_trip_s: float  # of the exchange it was read in: the offset is good to half of it
    samples: int

    def to_dict(self) -> dict[str, float]:
        return {"offset_s": round(self.offset_s, 6),
                "uncertainty_s": round(self.round_trip_s / 2, 6), "samples": self.samples}


async def measure_offset(their_time: Callable[[], Awaitable[float]],
                         samples: int = SAMPLES,
                         our_time: Callable[[], float] = time.time) -> ClockOffset:
    """The offset of the clock `their_time` reads, from `samples` exchanges."""
    best: tuple[float, float] | None = None
    for _ in range(max(1, samples)):
        sent = our_time()
        theirs = await their_time()
        back = our_time()
        round_trip = back - sent
        if best is None or round_trip < best[1]:
            best = (theirs - (sent + back) / 2, round_trip)
    assert best is not None
    return ClockOffset(best[0], best[1], max(1, samples))


__all__ = ["ClockOffset", "measure_offset"]
