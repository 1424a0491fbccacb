"""Fan-out waits for deliveries until all are in, or they stop arriving, or the deadline."""

from __future__ import annotations

import asyncio

from syncbench.studies.performance.fanout import _deliveries_settled


async def test_fanout_stops_waiting_when_deliveries_stop_arriving() -> None:
    received: list[int] = []
    all_in = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _deliveries_settled(received, all_in, timeout=30, quiet_s=0.2)
    assert loop.time() - started < 5  # quiet, not the whole timeout

    async def deliver() -> None:
        for n in range(5):
            await asyncio.sleep(0.1)
            received.append(n)
        all_in.set()

    feeder = asyncio.create_task(deliver())
    await _deliveries_settled(received, all_in, timeout=30, quiet_s=0.3)
    await feeder
    assert received == [0, 1, 2, 3, 4]
