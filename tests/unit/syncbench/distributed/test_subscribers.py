"""A subscriber group waits for deliveries until all are in, they stop arriving, or the
deadline: an event a seeded bug lost never comes, and waiting out the whole timeout for it
(minutes per fan-out run) would tell nothing more."""

from __future__ import annotations

import asyncio

from syncbench.distributed import SubscriberGroup


async def test_waiting_stops_when_deliveries_stop_arriving() -> None:
    group = SubscriberGroup()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await group.wait_for(5, timeout_s=30, quiet_s=0.2) == 0
    assert loop.time() - started < 5  # quiet, not the whole timeout


async def test_waiting_ends_when_every_delivery_is_in() -> None:
    group = SubscriberGroup()

    async def deliver() -> None:
        for n in range(5):
            await asyncio.sleep(0.1)
            group.rows.append({"seq": n})
            group.changed.set()

    feeder = asyncio.create_task(deliver())
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await group.wait_for(5, timeout_s=30, quiet_s=0.3) == 5
    await feeder
    assert [row["seq"] for row in group.rows] == [0, 1, 2, 3, 4]
    assert loop.time() - started < 5


async def test_waiting_stops_at_the_deadline_while_deliveries_trickle() -> None:
    group = SubscriberGroup()

    async def trickle() -> None:
        for n in range(100):
            await asyncio.sleep(0.05)
            group.rows.append({"seq": n})
            group.changed.set()

    feeder = asyncio.create_task(trickle())
    try:
        got = await group.wait_for(1000, timeout_s=0.5, quiet_s=5)
    finally:
        feeder.cancel()
    assert 0 < got < 100  # neither quiet nor complete: the deadline ended it
