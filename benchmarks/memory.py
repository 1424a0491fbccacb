"""Server memory: RSS over a sustained create load at half capacity, and WebSocket churn.

    python -m benchmarks.memory [--seconds 300] [--cycles 10000]

Capacity is measured first (wrk, creates, 3 s); then wrk paces creates at half of it for
`--seconds` while this process samples the server's RSS each second. wrk's `delay()` comes
on top of each request's latency and is whole milliseconds, so the pacing is corrected in
a loop: the run is a series of wrk segments, each one's (dithered) delay set from the rate
the previous one achieved. Figure: RSS at the end over RSS after the warm-up
(the first 10% of the run); target within 10%. Then `--cycles` WebSocket connect,
subscribe, close cycles (8 at a time): RSS after them over RSS after the first 10%.
"""

from __future__ import annotations

import asyncio
import json

import uvloop
from websockets.asyncio.client import connect

from benchmarks.processes import pin_self_to_load_cpu, run_wrk, tasksync_server
from benchmarks.runner import Figure, arguments, report
from benchmarks.wrk_scripts import post_json
from syncbench.machine import RssSampler, rss_mib

CONNECTIONS = 16
# The first segment is short so that the correction lands early; later ones are longer.
FIRST_SEGMENT_S = 5
SEGMENTS = 10

# wrk truncates delay() to whole ms: pick floor or floor+1 at random, averaging `ms`.
_DITHERED_DELAY = """
function delay()
  if math.random() < {frac:.4f} then return {whole} + 1 end
  return {whole}
end
"""


def _paced_script(delay_ms: float) -> str:
    whole = int(delay_ms)
    return post_json("/api/v1/tasks") + _DITHERED_DELAY.format(
        whole=whole, frac=delay_ms - whole)


def _segments(total: float) -> list[int]:
    """Whole-second segment lengths (wrk's -d takes no fractions) adding up to ~`total`."""
    total_s = max(1, round(total))
    first = min(FIRST_SEGMENT_S, total_s)
    rest = total_s - first
    n = min(SEGMENTS - 1, rest)
    return [first] + [rest // n + (1 if i < rest % n else 0) for i in range(n)] if n else [first]


def _paced_run(url: str, rate: float, seconds: float) -> tuple[float, int, list[float]]:
    """(achieved creates/s, non-2xx, each segment's rate) of `seconds` paced at `rate`.

    Each connection's cycle is latency + delay; the delay for the next segment moves by the
    gap between the cycle the target needs (CONNECTIONS / rate) and the one measured.
    """
    cycle_ms = CONNECTIONS * 1000 / rate
    delay_ms = cycle_ms  # first guess: latency 0; corrected after the first segment
    requests = non_2xx = 0
    rates: list[float] = []
    segments = _segments(seconds)
    for length in segments:
        result = run_wrk(url, _paced_script(delay_ms), seconds=length, connections=CONNECTIONS)
        requests += result.requests
        non_2xx += result.non_2xx
        rates.append(result.requests_per_s)
        if result.requests_per_s > 0:
            delay_ms = max(0.0, delay_ms + cycle_ms - CONNECTIONS * 1000 / result.requests_per_s)
    return requests / sum(segments), non_2xx, rates


async def _churn(ws_url: str, cycles: int, pid: int) -> tuple[float, float]:
    """(RSS after the first 10% of cycles, RSS after all), MiB."""
    done = 0
    warm_rss = 0.0
    subscribe = json.dumps({"type": "subscribe", "repositories": {"churn": 0}})

    async def worker() -> None:
        nonlocal done, warm_rss
        while done < cycles:
            done += 1
            async with connect(ws_url, ping_interval=None) as ws:
                await ws.send(subscribe)
                while json.loads(await ws.recv()).get("type") != "subscribed":
                    pass
            if done == cycles // 10:
                await asyncio.sleep(0.5)
                warm_rss = rss_mib(pid)

    await asyncio.gather(*(worker() for _ in range(8)))
    await asyncio.sleep(1.0)  # let the server finish closing the last ones
    return warm_rss, rss_mib(pid)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], repeats=1)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--cycles", type=int, default=10_000)
    args = parser.parse_args()
    pin_self_to_load_cpu()
    figures = []
    with tasksync_server() as server:
        assert server.pid is not None
        capacity = run_wrk(server.base_url, post_json("/api/v1/tasks"), seconds=3).requests_per_s
        rate = capacity / 2
        sampler = RssSampler(server.pid, interval_s=1.0)
        with sampler.in_thread():
            achieved, non_2xx, segment_rates = _paced_run(server.base_url, rate, args.seconds)
        samples = [(t, rss) for t, _wall, rss, _phase in sampler.samples]
        warm = [rss for t, rss in samples if t <= max(10.0, args.seconds * 0.1)][-1]
        end = samples[-1][1]
        peak = max(rss for _, rss in samples)
        figures.append(Figure(
            "RSS at end of sustained load", "MiB", [end], "RSS after warm-up", [warm],
            target=1.10, target_on="ratio", target_op="<=", higher_is_better=False,
            note=f"{args.seconds:g} s at {achieved:.0f} creates/s = {achieved / capacity:.0%}"
            f" of capacity {capacity:.0f}/s; peak {peak:.1f} MiB; {non_2xx} non-2xx",
            extra={"rss_samples_mib": [round(r, 2) for _, r in samples],
                   "capacity_per_s": capacity, "achieved_per_s": achieved,
                   "segment_rates_per_s": [round(r) for r in segment_rates]}))
        ws_url = server.base_url.replace("http", "ws") + "/ws"
        warm_ws, end_ws = uvloop.run(_churn(ws_url, args.cycles, server.pid))
        figures.append(Figure(
            f"RSS after {args.cycles} WebSocket cycles", "MiB", [end_ws],
            "RSS after 10% of them", [warm_ws], target=1.10, target_on="ratio",
            target_op="<=", higher_is_better=False))
    report("memory", figures, args.out, vars(args) | {"out": str(args.out)})


if __name__ == "__main__":
    main()
