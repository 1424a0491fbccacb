"""A group of HTTP clients in one event loop, each a user polling the server: one request
every `interval_s` (open loop: a slow answer does not slow the next send), each answer's
latency recorded. Run in the study's process, or one group per Ray actor (fleet.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from tasksync.client import HTTPClient, RetryPolicy

ONCE = RetryPolicy(max_attempts=1)  # a retry would hide the latency being measured


class HttpClientGroup:
    def now(self) -> float:
        return time.time()

    async def run(self, url: str, names: Sequence[str], seconds: float, interval_s: float,
                  timeout_s: float) -> list[dict[str, Any]]:
        """Every client in `names` sends a noop every `interval_s` for `seconds` (their
        starts spread over one interval); one row per request: sent (this process's wall
        clock), latency, ok."""
        rows: list[dict[str, Any]] = []
        clients = [HTTPClient(url, client_id=name, retry=ONCE, timeout=timeout_s)
                   for name in names]
        try:
            await asyncio.gather(*(client.noop() for client in clients))  # connections open
            loop = asyncio.get_running_loop()
            began = loop.time()
            spread = interval_s / max(1, len(clients))
            await asyncio.gather(*(
                self._poll(client, began + index * spread, began + seconds, interval_s, rows)
                for index, client in enumerate(clients)))
        finally:
            await asyncio.gather(*(client.aclose() for client in clients))
        return rows

    async def _poll(self, client: HTTPClient, first: float, until: float, interval_s: float,
                    rows: list[dict[str, Any]]) -> None:
        loop = asyncio.get_running_loop()
        pending: set[asyncio.Task[None]] = set()
        at = first
        while at < until:
            await asyncio.sleep(max(0.0, at - loop.time()))
            task = asyncio.create_task(self._one(client, rows))
            pending.add(task)
            task.add_done_callback(pending.discard)
            at += interval_s
        await asyncio.gather(*pending)

    async def _one(self, client: HTTPClient, rows: list[dict[str, Any]]) -> None:
        sent, started = time.time(), time.perf_counter()
        try:
            await client.noop()
            ok = True
        except Exception:  # a timeout or refusal is a result here, recorded as not ok
            ok = False
        rows.append({"client": client.client_id, "sent_time": sent,
                     "latency_ms": (time.perf_counter() - started) * 1000, "ok": ok})


__all__ = ["HttpClientGroup"]
