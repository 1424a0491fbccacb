"""Faults between server replicas and PostgreSQL, through the nemesis, on a real stack of
three replicas: each lands on the link or replica it names and on nothing else."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from syncbench.history import History
from syncbench.nemesis import FaultError, Nemesis, fault_windows
from syncbench.stack import Stack, StackConfig
from tasksync.client import RetryPolicy
from tasksync.client.errors import TaskSyncError

ONCE = RetryPolicy(max_attempts=1)


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    # a write is several database round trips: with a slow link they add up past the
    # default 5 s storage deadline
    async with Stack(StackConfig(groups=("a", "b", "c"), store="postgresql", replicas=3,
                                 server_options=("--storage-timeout", "30"))) as running:
        yield running


async def timed_create(stack: Stack, group: str, content: str) -> float:
    client = stack.http_client(group, retry=ONCE, timeout=15)
    started = time.perf_counter()
    await client.create_task("faults", content)
    return time.perf_counter() - started


async def test_database_faults_hit_only_the_link_or_replica_they_name(stack: Stack) -> None:
    history = History()
    nemesis = Nemesis(stack, history)
    for group in "abc":  # connections warm
        await timed_create(stack, group, "warm")
    async with nemesis.fault("db_link", "server-1",
                             toxic={"type": "latency", "attributes": {"latency": 800}}):
        slow = await timed_create(stack, "b", "slow link")
        fast = await timed_create(stack, "a", "own link")
    assert slow >= 0.8 > fast  # each database round trip of b's write waits 800 ms

    async with nemesis.fault("db_outage", "server-2"):
        with pytest.raises(TaskSyncError):
            await stack.http_client("c", retry=ONCE, timeout=15).create_task("faults", "cut")
        await timed_create(stack, "a", "others serve")

    async with nemesis.fault("crash", "server-1"):
        assert not stack.servers["server-1"].running and stack.servers["server"].running
        await timed_create(stack, "c", "replica 2 serves")

    async with nemesis.fault("db_restart", "database"):
        with pytest.raises(TaskSyncError):
            await stack.http_client("a", retry=ONCE, timeout=15).create_task("faults", "down")
    patient = stack.http_client("a", retry=RetryPolicy(max_attempts=20, base_delay=0.1,
                                                        max_delay=0.5, deadline=30))
    await patient.create_task("faults", "after the restart")

    windows = fault_windows(history)
    assert list(windows["fault"]) == ["db_link", "db_outage", "crash", "db_restart"]
    assert list(windows["target"]) == ["server-1", "server-2", "server-1", "database"]
    assert windows["healed"].all()
    seqs = [event["seq"] for event in await stack.change_log("faults")]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_database_faults_on_a_sqlite_stack_say_what_to_change() -> None:
    async with Stack() as stack:
        with pytest.raises(FaultError, match="store='postgresql'"):
            await Nemesis(stack, History()).start("db_outage", "server")
