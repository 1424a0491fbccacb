"""How many clients one machine drives: in the study's own process against spread over Ray
actors (syncbench.distributed), with the latency bound each must stay under.

    python -m benchmarks.distributed [--actors 2] [--ws-bound-ms 1000] [--http-bound-ms 500]

WebSocket subscribers: a ramp of counts, each step subscribing that many to a fresh
repository on one real server (through Toxiproxy, no toxics) and writing `events` tasks;
a step holds when every subscriber got every event and delivery p99 (server stamp to
arrival, on the study's clock) stays under the bound. HTTP clients: users each sending a
noop every second for a few seconds; a step holds when every request was answered and p99
stays under the bound. The figure is the largest count that held with actors; its baseline
is the largest that held in one process, measured in the same run. Each step also records
the machine's CPU (the share of all its cores busy; the cores the server and the study's
process kept busy): whether the clients' side, or the server beside them, was the limit.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import Any

import psutil

from benchmarks.runner import Figure, arguments, output_dir, print_figures, write_json
from syncbench.distributed import HttpFleet, SubscriberFleet
from syncbench.machine import CpuMeter
from syncbench.ray_cluster import disconnect_ray
from syncbench.stack import Stack, StackConfig
from syncbench.stats import percentile
from tasksync.client import HTTPClient

SUBSCRIBER_STEPS = (250, 500, 1000, 2000, 3000, 4000, 6000, 8000)
USER_STEPS = (100, 200, 400, 800, 1600, 2400, 3200, 4800, 6400)


async def subscriber_step(stack: Stack, fleet: SubscriberFleet, count: int, step: int,
                          events: int, bound_ms: float) -> dict[str, Any]:
    repository = f"capacity-{step}-{count}"
    names = [f"{repository}-s{i}" for i in range(count)]
    connect_s = await fleet.subscribe(stack.ws_url("load"), repository, names, 120)
    async with HTTPClient(stack.url("load"), client_id=f"writer-{step}") as writer:
        for n in range(events):
            await writer.create_task(repository, f"event {n}")
            await asyncio.sleep(0.1)
    await fleet.wait_for(count * events, 120, quiet_s=5)
    rows = await fleet.collect()
    p99 = percentile([r["latency_ms"] for r in rows], 99) if rows else float("inf")
    held = len(rows) == count * events and p99 <= bound_ms
    return {"count": count, "delivered": len(rows), "expected": count * events,
            "p99_ms": round(p99, 1), "connect_s": round(connect_s, 2), "held": held}


async def user_step(stack: Stack, fleet: HttpFleet, count: int, seconds: float,
                    bound_ms: float) -> dict[str, Any]:
    rows = await fleet.poll(stack.url("load"), [f"u{count}-{i}" for i in range(count)],
                            seconds=seconds, interval_s=1.0, timeout_s=30)
    ok = [r["latency_ms"] for r in rows if r["ok"]]
    p99 = percentile(ok, 99) if ok else float("inf")
    held = len(ok) == len(rows) and p99 <= bound_ms
    return {"count": count, "requests": len(rows), "answered": len(ok),
            "p99_ms": round(p99, 1), "held": held}


class StepCpu:
    """What the machine's cores did during a step: the share of all of them busy, and how
    many cores the server and this process kept busy (who the limit was)."""

    def __init__(self, server_pid: int | None) -> None:
        self.meter = CpuMeter(server_pid)
        self.meter.start()
        self.machine = psutil.cpu_times()
        self.started = time.monotonic()

    def read(self) -> dict[str, float]:
        wall = max(time.monotonic() - self.started, 1e-9)
        own, server = self.meter.read()
        now = psutil.cpu_times()
        total = sum(now) - sum(self.machine)
        idle = (now.idle + getattr(now, "iowait", 0.0)
                - self.machine.idle - getattr(self.machine, "iowait", 0.0))
        return {"machine_busy": round(1 - idle / total, 3) if total > 0 else math.nan,
                "server_cores": round(server / wall, 2),
                "study_process_cores": round(own / wall, 2)}


async def ramp(placement: str, actors: int, steps: Sequence[int], run_step: Any,
               fleet_class: type) -> tuple[int, list[dict[str, Any]]]:
    """Steps until one does not hold; the largest count that held, and every step."""
    rows: list[dict[str, Any]] = []
    best = 0
    async with Stack(StackConfig(groups=("load",), server_options=("--rate-limit", "0"))) as stack:
        fleet = await fleet_class.start(actors=actors)
        try:
            for index, count in enumerate(steps):
                cpu = StepCpu(stack.server.pid if stack.server else None)
                row = {"placement": placement, **await run_step(stack, fleet, count, index),
                       **cpu.read()}
                print(f"  {placement}: {row}", flush=True)
                rows.append(row)
                if not row["held"]:
                    break
                best = count
        finally:
            await fleet.stop()
    return best, rows


async def main() -> None:
    parser = arguments(__doc__.splitlines()[0], repeats=1)
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--ws-bound-ms", type=float, default=1000.0)
    parser.add_argument("--http-bound-ms", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    figures, steps = [], []
    for what, unit_steps, make, fleet_class, bound in (
            ("subscribers", SUBSCRIBER_STEPS,
             lambda s, f, c, i: subscriber_step(s, f, c, i, args.events, args.ws_bound_ms),
             SubscriberFleet, args.ws_bound_ms),
            ("http_clients", USER_STEPS,
             lambda s, f, c, i: user_step(s, f, c, args.seconds, args.http_bound_ms),
             HttpFleet, args.http_bound_ms)):
        alone, local_steps = await ramp("one process", 0, unit_steps, make, fleet_class)
        spread, actor_steps = await ramp(f"{args.actors} actors", args.actors, unit_steps,
                                         make, fleet_class)
        steps += [{"clients": what, **row} for row in local_steps + actor_steps]
        figures.append(Figure(
            name=f"max {what} with p99 <= {bound:g} ms", unit="clients",
            samples=[float(spread)], baseline="one process", baseline_samples=[float(alone)],
            note=f"{args.actors} Ray actors against the study's own process, same run"))
    disconnect_ray()
    print_figures("distributed", figures)
    path = write_json("distributed", figures, output_dir(args.out),
                      {**vars(args), "out": None, "steps": steps})
    print(f"written {path}")


if __name__ == "__main__":
    asyncio.run(main())
