"""A stack of server replicas on a real PostgreSQL, each with its own database link."""

from __future__ import annotations

import asyncio

import psutil
import pytest

from syncbench.stack import Stack, StackConfig, StackError
from tasksync.client import RetryPolicy
from tasksync.client.errors import RetriesExhausted, TaskSyncError
from tests.support.wait import wait_until_async

pytest_plugins = ["syncbench.fixtures"]
NO_RETRY = RetryPolicy(max_attempts=1)


@pytest.fixture
async def replicas(make_stack) -> Stack:
    return await make_stack(groups=("a", "b", "c"), store="postgresql", replicas=3)


async def test_each_group_reaches_its_own_replica_and_all_share_one_database(
        replicas: Stack) -> None:
    assert [replicas.server_of(group) for group in "abc"] == ["server", "server-1", "server-2"]
    ports = {replicas.servers[name].port for name in replicas.server_names}
    assert len(ports) == 3
    created = [await replicas.http_client(group).create_task("shared", f"via {group}")
               for group in "abc"]
    for group in "abc":  # every replica reads every replica's writes
        listed = await replicas.http_client(group).list_tasks("shared")
        assert {task.id for task in listed.tasks} == {task.id for task in created}
    assert [event["seq"] for event in await replicas.change_log("shared")] == [1, 2, 3]


async def test_a_subscriber_on_one_replica_gets_every_replicas_writes_in_order(
        replicas: Stack) -> None:
    received = []
    feed = replicas.ws_client(["feed"], group="c", on_event=lambda event: received.append(event))
    await feed.connect()
    writers = [replicas.http_client(group) for group in "abc"]
    await asyncio.gather(*[writers[n % 3].create_task("feed", f"n{n}") for n in range(60)])
    await wait_until_async(lambda: len(received) >= 60, timeout=20, message="60 events")
    assert [event.event.seq for event in received] == list(range(1, 61))


async def test_a_cut_database_link_fails_only_its_replica(replicas: Stack) -> None:
    b = replicas.http_client("b", retry=NO_RETRY, timeout=10)
    await replicas.database.cut("server-1")
    with pytest.raises(RetriesExhausted) as failed:
        await b.create_task("cut", "no database")
    assert getattr(failed.value.last_error, "status_code", None) in (503, 504), failed.value
    for group in "ac":  # the others keep serving
        await replicas.http_client(group, retry=NO_RETRY).create_task("cut", f"via {group}")
    await replicas.database.restore("server-1")

    async def b_writes_again() -> bool:
        try:
            await b.create_task("cut", "back")
        except TaskSyncError:
            return False
        return True

    await wait_until_async(b_writes_again, timeout=30, interval=0.2, message="b writes again")


async def test_events_missed_while_a_replicas_database_link_was_down_are_delivered(
        replicas: Stack) -> None:
    """The listener of server-2 loses its link; writes through the others meanwhile reach
    server-2's subscriber once the link is back (read from the log, not the lost NOTIFYs)."""
    received = []
    feed = replicas.ws_client(["missed"], group="c", on_event=lambda event: received.append(event))
    await feed.connect()
    await replicas.database.cut("server-2")
    for n in range(10):
        await replicas.http_client("a").create_task("missed", f"while down {n}")
    await replicas.database.restore("server-2")
    await wait_until_async(lambda: len(received) >= 10, timeout=30, message="10 events")
    assert [event.event.seq for event in received] == list(range(1, 11))


async def test_the_database_restarted_as_after_a_crash_loses_no_write(replicas: Stack) -> None:
    a = replicas.http_client("a")
    before = [await a.create_task("restart", f"before {n}") for n in range(5)]
    await replicas.database.stop(immediate=True)
    await replicas.database.start_again()
    after = await a.create_task("restart", "after")  # retried until the pool reconnects
    tasks = await replicas.server_tasks("restart")
    assert {task.id for task in [*before, after]} <= set(tasks)
    assert [event["seq"] for event in await replicas.change_log("restart")] == list(range(1, 7))


async def test_stop_leaves_no_server_and_no_database(make_stack) -> None:
    stack = await make_stack(store="postgresql", replicas=2)
    pids = [server.pid for server in stack.servers.values()]
    database = stack.database.run.local
    assert database is not None and database.running
    postgres_pid = database.process.pid
    await stack.stop()
    for pid in [*pids, postgres_pid]:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.parametrize(("config", "message"), [
    ({"replicas": 2}, "give store='postgresql'"),
    ({"store": "mysql"}, "unknown store 'mysql'"),
    ({"store": "postgresql", "replicas": 0}, "replicas must be 1..8"),
    ({"store": "postgresql", "target": "url", "url": "http://127.0.0.1:1"}, "targets embedded and container"),
])
def test_a_bad_deployment_is_refused_with_what_to_change(config: dict, message: str) -> None:
    with pytest.raises(StackError, match=message):
        StackConfig(**config)
