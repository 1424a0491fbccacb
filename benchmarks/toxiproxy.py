"""What a Toxiproxy proxy with no toxics adds to a request: direct vs proxied, one run.

    python -m benchmarks.toxiproxy [--repeats 3] [--requests 2000]

One keep-alive connection sends POST /api/v1/noop one request at a time, alternating
blocks of 200 straight to the server and through the proxy (syncbench.stack), so both see
the same moments of the machine. Figure: proxied median latency, baseline: direct median
latency; target: the difference under 0.2 ms (checked as proxied - direct).
"""

from __future__ import annotations

import time

import aiohttp
import uvloop

from benchmarks.processes import SERVER_CPU, pin, pin_self_to_load_cpu
from benchmarks.runner import Figure, arguments, report
from syncbench.stack import Stack, StackConfig
from syncbench.stats import median

BLOCK = 200


async def _latencies(session: aiohttp.ClientSession, requests: int) -> list[float]:
    out = []
    for _ in range(requests):
        started = time.perf_counter()
        async with session.post("/api/v1/noop", data=b"{}") as response:
            await response.read()
        out.append(time.perf_counter() - started)
    return out


async def _run(repeats: int, requests: int) -> tuple[list[float], list[float]]:
    direct, proxied = [], []
    async with Stack(StackConfig(server_options=("--rate-limit", "0"))) as stack:
        assert stack.server is not None and stack.server.pid is not None
        pin(stack.server.pid, SERVER_CPU)
        connector = dict(limit=1)
        async with aiohttp.ClientSession(stack.server_url,
                                         connector=aiohttp.TCPConnector(**connector)) as d, \
                aiohttp.ClientSession(stack.url("default"),
                                      connector=aiohttp.TCPConnector(**connector)) as p:
            await _latencies(d, BLOCK)
            await _latencies(p, BLOCK)
            for _ in range(repeats):
                one_direct, one_proxied = [], []
                for _ in range(max(1, requests // BLOCK)):
                    one_direct += await _latencies(d, BLOCK)
                    one_proxied += await _latencies(p, BLOCK)
                direct.append(median(one_direct) * 1000)
                proxied.append(median(one_proxied) * 1000)
                print(f"  repeat: direct {direct[-1]:.3f} ms, proxied {proxied[-1]:.3f} ms,"
                      f" added {proxied[-1] - direct[-1]:.3f} ms", flush=True)
    return direct, proxied


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    pin_self_to_load_cpu()
    direct, proxied = uvloop.run(_run(args.repeats, args.requests))
    added = [p - d for p, d in zip(proxied, direct, strict=True)]
    figures = [
        Figure("noop latency through toxiproxy (median)", "ms", proxied, "direct", direct,
               higher_is_better=False),
        Figure("latency toxiproxy adds (proxied - direct)", "ms", added, "direct", direct,
               target=0.2, target_on="value", target_op="<=", higher_is_better=False),
    ]
    report("toxiproxy", figures, args.out, vars(args) | {"out": str(args.out)})


if __name__ == "__main__":
    main()
