"""WebSocket fan-out: one writer, N subscribers, delivery latency from write to arrival.

Each run subscribes N fresh WebSocket clients (through the load group's proxy) to a fresh
repository, writes `fanout_events` tasks over HTTP and waits (with the phase deadline) until
every subscriber got every event. Latency is the server's event timestamp to arrival at the
subscriber (same machine, same clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

from syncbench.stats import median, percentiles
from syncbench.studies.performance.params import LOAD
from syncbench.studies.performance.phases import Bench, say
from syncbench.studies.performance.workload import task_contents
from tasksync.client import HTTPClient, WebSocketClient

DELIVERY_COLUMNS = ("profile", "subscribers", "repeat", "subscriber", "repository", "seq",
                    "received_time", "latency_ms")
# Opening hundreds of WebSockets at once only queues them in the listen backlog.
CONNECT_CONCURRENCY = 50
# Deliveries that stopped arriving for this long are over: an event lost by the server (a
# seeded bug) never comes, and waiting out the whole phase timeout for it (minutes per run)
# would tell nothing more. Under load, deliveries arrive every few ms.
DELIVERY_QUIET_S = 5.0


async def fanout(bench: Bench, profile: str) -> None:
    """Fan-out runs for every subscriber count, `repeats` each, under `profile`."""
    p = bench.params
    bench.sampler.phase = f"{profile}: fan-out"
    writer = bench.http(bench.stack.url(LOAD), f"{profile}-fanout-writer")
    try:
        await writer.noop()
        for subscribers in p.subscribers:
            say(f"{profile}: fan-out to {subscribers} subscribers x {p.repeats}")
            for repeat in range(p.repeats):
                await _fanout_run(bench, profile, subscribers, repeat, writer)
    finally:
        await writer.aclose()


async def _fanout_run(bench: Bench, profile: str, count: int, repeat: int,
                      writer: HTTPClient) -> None:
    p = bench.params
    repository = f"fanout-{profile}-s{count}-r{repeat}"
    bench.fanout_repos.append(repository)
    noop_ms = median(await bench.noop_latencies(writer, f"{profile}-fanout", p.noop_samples,
                                                profile))
    received: list[dict[str, Any]] = []
    expected = count * p.fanout_events
    all_in = asyncio.Event()

    def handler(name: str) -> Callable[[Any], None]:  # one per subscriber: rows name it
        def on_event(event: Any) -> None:
            received.append({
                "profile": profile, "subscribers": count, "repeat": repeat,
                "subscriber": name, "repository": event.event.repository,
                "seq": event.event.seq, "received_time": event.received_at,
                "latency_ms": event.delivery_latency * 1000})
            if len(received) >= expected:
                all_in.set()

        return on_event

    names = [f"{repository}-sub{i}" for i in range(count)]
    feeds = [WebSocketClient(bench.stack.ws_url(LOAD), {repository: 0}, client_id=name,
                             on_event=handler(name), open_timeout=p.phase_timeout_s)
             for name in names]
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(feed: WebSocketClient) -> None:
        async with gate:
            await feed.connect(timeout=p.phase_timeout_s)

    try:
        start = time.perf_counter()
        await asyncio.gather(*(connect(feed) for feed in feeds))
        connect_s = time.perf_counter() - start
        for name in names:
            bench.subscriptions[name] = {repository: 0}
        for n, content in enumerate(task_contents(bench.rng, p.fanout_events, repository)):
            async with bench.history.record(writer.client_id, "create", phase="fanout",
                                            profile=profile, subscribers=count,
                                            repeat=repeat) as op:
                task = await writer.create_task(repository, content, id=f"{repository}-{n}")
                op.note(task_id=task.id, version=task.version)
            if p.fanout_interval_s:
                await asyncio.sleep(p.fanout_interval_s)  # the pacing of writes, not a wait
        # a shortfall is the deliveries check's to judge, not an error here
        await _deliveries_settled(received, all_in, p.phase_timeout_s)
    finally:
        await asyncio.gather(*(feed.close() for feed in feeds))
    latencies = [row["latency_ms"] for row in received]
    bench.deliveries.extend(received)
    bench.fanout_rows.append({
        "profile": profile, "subscribers": count, "repeat": repeat,
        "events": p.fanout_events, "expected": expected, "delivered": len(received),
        "connect_s": connect_s, "noop_ms": noop_ms,
        **{f"{q}_ms": value for q, value in percentiles(latencies).items()},
        "max_ms": max(latencies, default=math.nan)})


async def _deliveries_settled(received: list[Any], all_in: asyncio.Event, timeout: float,
                              quiet_s: float = DELIVERY_QUIET_S) -> None:
    """Wait until every delivery is in, none arrived for `quiet_s`, or `timeout` passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    count, changed = len(received), loop.time()
    while not all_in.is_set():
        now = loop.time()
        if len(received) != count:
            count, changed = len(received), now
        if now - changed > quiet_s or now > deadline:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 0.1)


__all__ = ["DELIVERY_COLUMNS", "fanout"]
