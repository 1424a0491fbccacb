"""tasksync.client.HTTPClient with 32 concurrent calls vs aiohttp against the same endpoint.

    python -m benchmarks.client [--repeats 3] [--requests 6000] [--concurrency 32]

The endpoint is the bare app's GET /api/v1/tasks/{id} (a constant Task body), so the
figures measure the clients, not a server. This process (the client) runs on its own CPU,
on uvloop. Measured: raw aiohttp (baseline), HTTPClient on its default transport
(httpx-aiohttp), HTTPClient on httpx's own pool, and a bare httpx.AsyncClient on each
transport (what the HTTPClient layer itself costs). Target: HTTPClient >= 70% of aiohttp.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import msgspec
import uvloop

from benchmarks.processes import bare_server, pin_self_to_load_cpu
from benchmarks.runner import Figure, arguments, report
from tasksync.client import HTTPClient, RetryPolicy
from tasksync.client.transport import make_transport
from tasksync.models import Task

Call = Callable[[], Awaitable[object]]


async def _throughput(call: Call, requests: int, concurrency: int) -> float:
    """Requests per second of `requests` calls made by `concurrency` tasks."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))  # warm: open connections
    remaining = requests
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def _one_repeat(url: str, requests: int, concurrency: int) -> dict[str, float]:
    path = "/api/v1/tasks/bench"
    rates: dict[str, float] = {}
    decode = msgspec.json.Decoder(Task).decode
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(url, connector=connector) as session:
        async def raw_aiohttp() -> object:
            async with session.get(path) as response:
                return decode(await response.read())
        rates["aiohttp"] = await _throughput(raw_aiohttp, requests, concurrency)
    for transport in ("aiohttp", "httpx"):
        async with HTTPClient(url, transport=transport,
                              retry=RetryPolicy(max_attempts=1)) as client:
            rates[f"HTTPClient/{transport}"] = await _throughput(
                lambda: client.get_task("bench"), requests, concurrency)
        async with httpx.AsyncClient(base_url=url, transport=make_transport(transport)) as http:
            async def bare_httpx() -> object:
                return decode((await http.get(path)).content)
            rates[f"httpx.AsyncClient/{transport}"] = await _throughput(
                bare_httpx, requests, concurrency)
    return rates


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    pin_self_to_load_cpu()
    runs: list[dict[str, float]] = []
    with bare_server() as url:
        for _ in range(args.repeats):
            runs.append(uvloop.run(_one_repeat(url, args.requests, args.concurrency)))
            print("  repeat: " + ", ".join(f"{k} {v:.0f}/s" for k, v in runs[-1].items()),
                  flush=True)
    base = [r["aiohttp"] for r in runs]
    figures = [
        Figure("HTTPClient (default transport)", "req/s", [r["HTTPClient/aiohttp"] for r in runs],
               "aiohttp", base, target=0.7,
               note=f"{args.concurrency} concurrent calls, {args.requests} per run"),
    ]
    for name in ("HTTPClient/httpx", "httpx.AsyncClient/aiohttp", "httpx.AsyncClient/httpx"):
        figures.append(Figure(name, "req/s", [r[name] for r in runs], "aiohttp", base))
    report("client", figures, args.out, vars(args) | {"out": str(args.out)})


if __name__ == "__main__":
    main()
