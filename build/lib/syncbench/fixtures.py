"""pytest fixtures over Stack: `pytest_plugins = ["syncbench.fixtures"]` in a conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest_asyncio

from syncbench.stack import Stack, StackConfig


@pytest_asyncio.fixture
async def stack() -> AsyncIterator[Stack]:
    """A default embedded stack (one client group, "default"), torn down after the test."""
    async with Stack() as running:
        yield running


@pytest_asyncio.fixture
async def make_stack() -> AsyncIterator[Callable[..., Awaitable[Stack]]]:
    """Start stacks with StackConfig fields as keywords; all are torn down after the test."""
    started: list[Stack] = []

    async def start(**config: object) -> Stack:
        running = Stack(StackConfig(**config))  # type: ignore[arg-type]
        await running.__aenter__()
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        await running.stop()
