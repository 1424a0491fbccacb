"""WebSocket fan-out: server cost per subscriber per event, and delivery latency.

    python -m benchmarks.fanout [--repeats 3] [--subscribers 100] [--rate 50] [--seconds 5]

Subscribers (websockets clients in this process, on the load CPU) subscribe to a fresh
repository; tasks are created at `rate` per second over HTTP, each carrying its send time,
so delivery latency is create-request start to event received. Server cost per subscriber
per event is the server's extra CPU time with the subscribers over the same run without
them, divided by events x subscribers. Baselines, same run: a bare websockets server that
broadcast()s ~300-byte events (its broadcast time per connection, its delivery latency).
Targets: cost under 30 us; delivery p99 under 15 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time

import aiohttp
import msgspec
import uvloop
from websockets.asyncio.client import connect

from benchmarks.processes import SERVER_CPU, pin, pin_self_to_load_cpu, tasksync_server
from benchmarks.runner import REPO_ROOT, Figure, arguments, report
from syncbench.machine import cpu_seconds, free_port
from syncbench.stats import percentile

_decode = msgspec.json.decode


async def _subscriber(url: str, repository: str, ready: asyncio.Event, latencies: list[float],
                      expected: int, counted: list[int]) -> None:
    async with connect(url, max_size=2**22, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "repositories": {repository: 0}}))
        while _decode(await ws.recv()).get("type") != "subscribed":
            pass
        counted[0] += 1
        ready.set()
        while True:
            message = _decode(await ws.recv())
            if message.get("type") == "event":
                latencies.append(time.time() - float(message["event"]["task"]["content"]))
                if len(latencies) >= expected:
                    return


async def _publish(http: aiohttp.ClientSession, repository: str, events: int,
                   rate: float) -> None:
    started = time.perf_counter()
    for n in range(events):
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        body = {"repository": repository, "content": repr(time.time())}
        async with http.post("/api/v1/tasks", json=body,
                             headers={"X-Client-ID": "fanout-publisher"}) as response:
            response.raise_for_status()


async def _tasksync_run(base_url: str, pid: int, repository: str, subscribers: int,
                        events: int, rate: float) -> tuple[float, list[float]]:
    """(server CPU seconds used, delivery latencies) for one run."""
    latencies: list[float] = []
    ready, counted = asyncio.Event(), [0]
    ws_url = base_url.replace("http", "ws") + "/ws"
    tasks = [asyncio.create_task(_subscriber(ws_url, repository, ready, latencies,
                                             events * subscribers, counted))
             for _ in range(subscribers)]
    async with aiohttp.ClientSession(base_url) as http:
        deadline = time.monotonic() + 30
        while counted[0] < subscribers and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # a count, not one event: polling is simplest
        cpu0 = cpu_seconds(pid)
        await _publish(http, repository, events, rate)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await asyncio.gather(*tasks)
        await asyncio.sleep(0.2)  # the last frames leave the server
        cpu = cpu_seconds(pid) - cpu0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return cpu, latencies


async def _bare_run(port: int, subscribers: int, events: int,
                    rate: float) -> tuple[float, list[float]]:
    """(broadcast() seconds per connection, delivery latencies) from the bare server."""
    latencies: list[float] = []
    url = f"ws://127.0.0.1:{port}"

    async def subscriber(ws) -> None:
        while len(latencies) < events * subscribers:
            sent_at = _decode(await ws.recv())["ts"]
            latencies.append(time.time() - sent_at)

    async with contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(connect(url, ping_interval=None))
                   for _ in range(subscribers)]
        for ws in sockets:
            await ws.send("subscribe")
        await asyncio.sleep(0.3)
        readers = [asyncio.create_task(subscriber(ws)) for ws in sockets]
        async with connect(url, ping_interval=None) as control:
            pad, started = "x" * 200, time.perf_counter()
            for n in range(events):
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
                await control.send(json.dumps({"type": "event", "seq": n, "ts": time.time(),
                                               "pad": pad}))
            await control.send("stats")
            stats = json.loads(await control.recv())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await asyncio.gather(*readers)
        for reader in readers:
            reader.cancel()
    return stats["broadcast_s_per_connection"], latencies


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    pin_self_to_load_cpu()
    events = int(args.rate * args.seconds)
    cost, p99, p50, bare_cost, bare_p99, bare_p50, lost = [], [], [], [], [], [], 0
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "benchmarks.bare_ws", str(port)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert bare.stdout is not None and bare.stdout.readline().strip() == "ready"
        pin(bare.pid, SERVER_CPU)
        with tasksync_server() as server:
            assert server.pid is not None
            for repeat in range(args.repeats):
                idle_cpu, _ = uvloop.run(_tasksync_run(
                    server.base_url, server.pid, f"idle-{repeat}", 0, events, args.rate))
                busy_cpu, latencies = uvloop.run(_tasksync_run(
                    server.base_url, server.pid, f"fan-{repeat}", args.subscribers, events,
                    args.rate))
                lost += events * args.subscribers - len(latencies)
                cost.append((busy_cpu - idle_cpu) / (events * args.subscribers) * 1e6)
                p99.append(percentile(latencies, 99) * 1000)
                p50.append(percentile(latencies, 50) * 1000)
                per_connection, bare_latencies = uvloop.run(
                    _bare_run(port, args.subscribers, events, args.rate))
                bare_cost.append(per_connection * 1e6)
                bare_p99.append(percentile(bare_latencies, 99) * 1000)
                bare_p50.append(percentile(bare_latencies, 50) * 1000)
                print(f"  repeat: cost {cost[-1]:.1f} us/sub/event (bare {bare_cost[-1]:.1f}),"
                      f" p50 {p50[-1]:.2f} ms, p99 {p99[-1]:.2f} ms"
                      f" (bare p50 {bare_p50[-1]:.2f}, p99 {bare_p99[-1]:.2f})", flush=True)
    finally:
        bare.terminate()
        bare.wait(timeout=10)
    note = (f"{args.subscribers} subscribers, {args.rate:g} events/s for {args.seconds:g} s;"
            f" {lost} deliveries missing")
    figures = [
        Figure("fan-out server cost per subscriber per event", "us", cost,
               "websockets broadcast() per connection", bare_cost, target=30,
               target_on="value", target_op="<=", higher_is_better=False, note=note),
        Figure("delivery latency p99", "ms", p99, "bare websockets p99", bare_p99, target=15,
               target_on="value", target_op="<=", higher_is_better=False),
        Figure("delivery latency p50", "ms", p50, "bare websockets p50", bare_p50,
               higher_is_better=False),
    ]
    report("fanout", figures, args.out, vars(args) | {"out": str(args.out)})


if __name__ == "__main__":
    main()
