"""tasksync.client.HTTPClient with 32 concurrent calls vs aiohttp against the same endpoint.

    python -m benchmarks.client [--repeats 3] [--requests 6000] [--concurrency 32]

The endpoint is the bare app's GET /api/v1/tasks/{id} (a constant Task body), so the
figures measure the clients, not a server. This process (the client) runs on its own CPU,
on uvloop. Measured: raw aiohttp (baseline); HTTPClient on its default transport (the fast
path: straight on an aiohttp session); HTTPClient through httpx over the same aiohttp
transport (what the fast path saves); HTTPClient on httpx's own pool; and a bare
httpx.AsyncClient on each transport. The variants take turns in slices (see _one_repeat).
Target: HTTPClient >= 70% of aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import msgspec
import uvloop

from benchmarks.processes import bare_server, pin_self_to_load_cpu
from benchmarks.runner import Figure, arguments, report
from tasksync.client import HTTPClient, RetryPolicy
from tasksync.client.transport import AiohttpTransport, make_transport
from tasksync.models import Task

Call = Callable[[], Awaitable[object]]
ROUNDS = 6


async def _elapsed(call: Call, requests: int, concurrency: int) -> float:
    """Seconds that `concurrency` tasks take to make `requests` calls between them."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def _one_repeat(url: str, requests: int, concurrency: int) -> dict[str, float]:
    """Requests per second of each variant, measured interleaved.

    Other load on the machine swings the rates by 2-4x within a minute, so the variants
    take turns in ROUNDS slices of requests/ROUNDS calls: each sees the same conditions,
    and the ratios to the baseline compare like with like.
    """
    path = "/api/v1/tasks/bench"
    decode = msgspec.json.Decoder(Task).decode
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=100)))

        async def raw_aiohttp() -> object:
            async with session.get(path) as response:
                return decode(await response.read())

        calls: dict[str, Call] = {"aiohttp": raw_aiohttp}
        # A transport instance is sent through httpx: the default's path before the fast path.
        for name, choice in (("HTTPClient/aiohttp", "aiohttp"),
                             ("HTTPClient/httpx+aiohttp", AiohttpTransport()),
                             ("HTTPClient/httpx", "httpx")):
            client = await stack.enter_async_context(
                HTTPClient(url, transport=choice, retry=RetryPolicy(max_attempts=1)))
            calls[name] = functools.partial(client.get_task, "bench")
        for transport in ("aiohttp", "httpx"):
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, transport=make_transport(transport)))
            calls[f"httpx.AsyncClient/{transport}"] = functools.partial(_bare_httpx, http,
                                                                         path, decode)
        elapsed = dict.fromkeys(calls, 0.0)
        for call in calls.values():  # warm: open the connections
            await _elapsed(call, concurrency * 4, concurrency)
        per_round = max(concurrency, requests // ROUNDS)
        for _ in range(ROUNDS):
            for name, call in calls.items():
                elapsed[name] += await _elapsed(call, per_round, concurrency)
    return {name: per_round * ROUNDS / seconds for name, seconds in elapsed.items()}


async def _bare_httpx(http: httpx.AsyncClient, path: str,
                      decode: Callable[[bytes], object]) -> object:
    return decode((await http.get(path)).content)


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
    for name in ("HTTPClient/httpx+aiohttp", "HTTPClient/httpx", "httpx.AsyncClient/aiohttp",
                 "httpx.AsyncClient/httpx"):
        figures.append(Figure(name, "req/s", [r[name] for r in runs], "aiohttp", base))
    report("client", figures, args.out, vars(args) | {"out": str(args.out)})


if __name__ == "__main__":
    main()
