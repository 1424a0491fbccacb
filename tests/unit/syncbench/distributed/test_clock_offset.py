"""The NTP-style clock offset: the exchange with the shortest round trip decides."""

from __future__ import annotations

import itertools

from syncbench.distributed.clock_offset import measure_offset


async def test_the_shortest_round_trip_gives_the_offset() -> None:
    # our clock reads 0, 10 (a slow exchange), then 20, 20.2 (a quick one); theirs is 3 s
    # ahead, read in the middle of each exchange
    ours = itertools.chain([0.0, 10.0, 20.0, 20.2])
    theirs = iter([5.0 + 3.0, 20.1 + 3.0])

    async def their_time() -> float:
        return next(theirs)

    offset = await measure_offset(their_time, samples=2, our_time=lambda: next(ours))
    assert round(offset.offset_s, 6) == 3.0
    assert round(offset.round_trip_s, 6) == 0.2
    assert offset.to_dict() == {"offset_s": 3.0, "uncertainty_s": 0.1, "samples": 2}


async def test_a_slow_exchange_does_not_skew_it() -> None:
    # the same offset (-2 s), but the reply of the first exchange came back late: its
    # midpoint is off by seconds, and it is not the one used
    ours = iter([0.0, 8.0, 10.0, 10.01])
    theirs = iter([-2.0 + 1.0, -2.0 + 10.005])

    async def their_time() -> float:
        return next(theirs)

    offset = await measure_offset(their_time, samples=2, our_time=lambda: next(ours))
    assert abs(offset.offset_s - (-2.0)) < 1e-9
