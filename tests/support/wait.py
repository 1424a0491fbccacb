"""Waiting for a condition in tests: poll it until it holds, fail after a deadline.

The one way tests wait (never a bare sleep standing in for "long enough"):

    wait_until(lambda: server.started, timeout=10, message="server start")        # threads
    await wait_until_async(lambda: len(received) == 3, message="three events")    # asyncio
    await wait_until_async(breaker_closed)          # an async condition is awaited each time

Both return the condition's first truthy value and raise TimeoutError naming `message` and
the timeout when it never comes.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.01,
               message: str = "condition") -> T:
    """Call `condition` every `interval` seconds until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} not met within {timeout}s")
        time.sleep(interval)


async def wait_until_async(condition: Callable[[], T | Awaitable[T]], timeout: float = 10.0,
                           interval: float = 0.01, message: str = "condition") -> T:
    """`wait_until` on the event loop: sleeps with asyncio, awaits an async condition."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} not met within {timeout}s")
        await asyncio.sleep(interval)


__all__ = ["wait_until", "wait_until_async"]
