"""WebSocket fan-out: one writer, N subscribers, delivery latency from write to arrival.

Each run subscribes N fresh WebSocket clients (through the load group's proxy) to a fresh
repository, writes `fanout_events` tasks over HTTP and waits (with the phase deadline) until
every subscriber got every event. Latency is the server's event timestamp to arrival at the
subscriber. The subscribers run in the study's process, or spread over `fanout_actors` Ray
actors (syncbench.distributed): then each actor's clock offset to the study's is measured,
recorded, and taken off its arrivals.
"""

from __future__ import annotations

import asyncio
import math

from syncbench.distributed import SubscriberFleet
from syncbench.stats import median, percentiles
from syncbench.studies.performance.params import LOAD
from syncbench.studies.performance.phases import Bench, say
from syncbench.studies.performance.workload import task_contents
from tasksync.client import HTTPClient

DELIVERY_COLUMNS = ("profile", "subscribers", "repeat", "subscriber", "repository", "seq",
                    "received_time", "latency_ms", "group")
# Deliveries that stopped arriving for this long are over: an event lost by the server (a
# seeded bug) never comes, and waiting out the whole phase timeout for it (minutes per run)
# would tell nothing more. Under load, deliveries arrive every few ms.
DELIVERY_QUIET_S = 5.0


async def fanout(bench: Bench, profile: str) -> None:
    """Fan-out runs for every subscriber count, `repeats` each, under `profile`; the
    subscribers run in this process, or spread over `fanout_actors` Ray actors."""
    p = bench.params
    bench.sampler.phase = f"{profile}: fan-out"
    writer = bench.http(bench.stack.url(LOAD), f"{profile}-fanout-writer")
    fleet = await SubscriberFleet.start(actors=p.fanout_actors, address=p.ray_address or None)
    try:
        await writer.noop()
        for subscribers in p.subscribers:
            say(f"{profile}: fan-out to {subscribers} subscribers x {p.repeats}"
                + (f" in {p.fanout_actors} Ray actors" if p.fanout_actors else ""))
            for repeat in range(p.repeats):
                await _fanout_run(bench, profile, subscribers, repeat, writer, fleet)
    finally:
        bench.fanout_placement[profile] = fleet.describe()
        await fleet.stop()
        await writer.aclose()


async def _fanout_run(bench: Bench, profile: str, count: int, repeat: int,
                      writer: HTTPClient, fleet: SubscriberFleet) -> None:
    p = bench.params
    repository = f"fanout-{profile}-s{count}-r{repeat}"
    bench.fanout_repos.append(repository)
    noop_ms = median(await bench.noop_latencies(writer, f"{profile}-fanout", p.noop_samples,
                                                profile))
    expected = count * p.fanout_events
    names = [f"{repository}-sub{i}" for i in range(count)]
    try:
        connect_s = await fleet.subscribe(bench.stack.ws_url(LOAD), repository, names,
                                          p.phase_timeout_s)
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
        await fleet.wait_for(expected, p.phase_timeout_s, DELIVERY_QUIET_S)
    finally:
        received = [{"profile": profile, "subscribers": count, "repeat": repeat, **row}
                    for row in await fleet.collect()]
    latencies = [row["latency_ms"] for row in received]
    bench.deliveries.extend(received)
    bench.fanout_rows.append({
        "profile": profile, "subscribers": count, "repeat": repeat,
        "events": p.fanout_events, "expected": expected, "delivered": len(received),
        "connect_s": connect_s, "noop_ms": noop_ms,
        **{f"{q}_ms": value for q, value in percentiles(latencies).items()},
        "max_ms": max(latencies, default=math.nan)})


__all__ = ["DELIVERY_COLUMNS", "fanout"]
