"""Faults beyond the network, each against a real Stack (server process, Toxiproxy, CLI
children): crash and restart bring the server back on its database and port, the clock
fault moves the real server's wall clock through libfaketime, partitions drop (and, one
way, drop only replies), and a client crash kills a real `tasksync sync` mid-way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from syncbench.explore.cli_process import CliRun, run_cli
from syncbench.history import History
from syncbench.nemesis import Nemesis, fault_windows
from syncbench.stack import Stack, StackConfig
from tasksync.client import RetryPolicy
from tasksync.client.errors import TaskSyncError
from tasksync.clock import parse_rfc3339
from tasksync.replica import Replica

ONCE = RetryPolicy(max_attempts=1)


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with Stack(StackConfig(groups=("api", "other"), fake_clock=True)) as running:
        yield running


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def stamped_offset(updated_at: str, before: float, after: float) -> float:
    """How far a write's stamp is from our clock while the write was on its way (0 when
    it falls between sending and the answer, however slow a loaded machine makes that)."""
    stamp = parse_rfc3339(updated_at)
    assert stamp is not None
    moment = stamp.timestamp()
    return 0.0 if before <= moment <= after else (
        moment - before if moment < before else moment - after)


async def test_a_crashed_server_comes_back_on_its_database_and_port(stack: Stack) -> None:
    history = History()
    nemesis = Nemesis(stack, history)
    client = stack.http_client("api", retry=ONCE, timeout=2.0)
    # a loaded machine makes a fresh server's first answer slow: only the write meant to
    # fail (while the server is down) has the short timeout
    patient = stack.http_client("api", retry=ONCE, timeout=15.0)
    kept = await patient.create_task("crash", "acknowledged before the crash")
    assert stack.server is not None
    port, pid = stack.server.port, stack.server.pid
    async with nemesis.fault("crash", "server"):
        assert not stack.server.running
        with pytest.raises(TaskSyncError):
            await client.create_task("crash", "while down")
    # the same client through the same proxy: same port, same database, a new process
    assert stack.server.port == port and stack.server.pid != pid
    assert (await patient.get_task(kept.id)).content == "acknowledged before the crash"
    (window,) = fault_windows(history).itertuples()
    assert window.fault == "crash" and window.healed


async def test_a_graceful_restart_closes_websockets_with_1012_and_they_resume(
        stack: Stack) -> None:
    nemesis = Nemesis(stack, History())
    writer = stack.http_client("api", retry=ONCE)
    feed = stack.ws_client(["restart"], "other",
                           reconnect=RetryPolicy(max_attempts=None, base_delay=0.05,
                                                 max_delay=0.2, deadline=30.0))
    await feed.connect(timeout=10.0)
    await writer.create_task("restart", "before")
    await until(lambda: feed.last_seq.get("restart", 0) >= 1)
    async with nemesis.fault("restart", "server"):
        await until(lambda: feed.stats.service_restarts == 1)
    await writer.create_task("restart", "after")
    await until(lambda: feed.last_seq.get("restart", 0) >= 2, timeout=10.0)
    assert feed.stats.reconnects >= 1 and feed.stats.events == 2


async def test_the_clock_fault_moves_the_real_servers_clock(stack: Stack) -> None:
    nemesis = Nemesis(stack, History())
    client = stack.direct_client(retry=ONCE)

    async def offset_of_a_write(content: str) -> float:
        before = time.time()
        task = await client.create_task("clock", content)
        return stamped_offset(task.updated_at, before, time.time())

    assert abs(await offset_of_a_write("real time")) < 1.0
    async with nemesis.fault("clock", "server", offset_s=-30.0):
        assert await offset_of_a_write("behind") == pytest.approx(-30.0, abs=1.0)
    assert abs(await offset_of_a_write("real again")) < 1.0
    async with nemesis.fault("clock", "server", offset_s=2.0, drift=5.0):
        first = await offset_of_a_write("drifting")
        await asyncio.sleep(0.5)  # the drift is what is measured: half a second of it
        second = await offset_of_a_write("drifted")
    # a loaded machine makes a request slow, and the stamp is read against its whole way:
    # the offset shows at least half its size, and the drift adds at least a second
    assert first >= 1.0 and second - first >= 1.0, (first, second)


async def test_the_clock_fault_needs_a_fake_clock_stack() -> None:
    async with Stack(StackConfig()) as plain:
        nemesis = Nemesis(plain, History())
        with pytest.raises(ValueError, match="fake_clock=True"):
            await nemesis.start("clock", "server", offset_s=5.0)


async def test_a_partition_drops_both_ways_and_spares_other_groups(stack: Stack) -> None:
    nemesis = Nemesis(stack, History())
    cut = stack.http_client("api", retry=ONCE, timeout=0.5)
    spared = stack.http_client("other", retry=ONCE, timeout=10.0)  # slow on a loaded machine
    async with nemesis.fault("partition", "api"):
        with pytest.raises(TaskSyncError, match="(?i)timeout|timed out"):
            await cut.create_task("partition", "never arrives")
        await spared.create_task("partition", "the other group goes on")
    contents = {t["content"] for t in (await stack.server_tasks("partition")).values()}
    assert contents == {"the other group goes on"}


async def test_lost_replies_leave_the_write_applied_and_the_client_untold(stack: Stack) -> None:
    nemesis = Nemesis(stack, History())
    client = stack.http_client("api", retry=ONCE, timeout=0.5)
    async with nemesis.fault("partition", "api", direction="replies"):
        with pytest.raises(TaskSyncError, match="(?i)timeout|timed out"):
            await client.create_task("asymmetric", "applied, never acknowledged")
    contents = [t["content"] for t in (await stack.server_tasks("asymmetric")).values()]
    assert contents == ["applied, never acknowledged"]


def cli_replica_with_one_change(stack: Stack, name: str,
                                repository: str) -> Callable[[], Awaitable[CliRun]]:
    """CLI replica `name` (its file in the stack's folder) with one task queued in its
    outbox; a `tasksync sync` of it through the "api" proxy, where a client crash finds it."""
    path = stack.workdir / f"cli-{name}.db"
    with Replica(path, client_id=name, repository=repository) as replica:
        replica.add("queued before the crash")
    options = ("--replica", str(path), "--server", stack.url("api"), "--repo", repository)
    running = stack.client_commands.setdefault(name, [])
    return lambda: run_cli(options, ["sync"], deadline_s=30.0, started=running)


async def synced_again_and_pushed_once(stack: Stack, sync: Callable[[], Awaitable[CliRun]],
                                       repository: str) -> None:
    """The next sync after the kill succeeds, and the queued task is on the server once."""
    again = await sync()
    assert again.exit_code == 0, again.stderr
    tasks = list((await stack.server_tasks(repository)).values())
    assert [t["content"] for t in tasks] == ["queued before the crash"]


async def test_a_client_crash_kills_a_real_sync_and_the_next_one_pushes_once(
        stack: Stack) -> None:
    nemesis = Nemesis(stack, History())
    sync = cli_replica_with_one_change(stack, "k0", "crashing")
    # the partition keeps the sync talking to the server past `after_s`: the kill lands mid-way
    async with nemesis.fault("partition", "api", direction="replies"), \
            nemesis.fault("client_crash", "k0", after_s=1.0):
        killed = await sync()
    assert killed.exit_code == -9 and "killed by signal 9" in killed.error
    await synced_again_and_pushed_once(stack, sync, "crashing")
    with Replica(stack.workdir / "cli-k0.db", repository="crashing") as replica:
        assert replica.pending_count() == 0


async def test_a_client_crash_kills_a_sync_once_it_talks_to_the_server(stack: Stack) -> None:
    # a sync killed at a fixed age had often finished (a LAN sync talks for tens of ms of
    # its ~0.5 s): it is killed as soon as its process holds a connection to the server.
    # 300 ms of latency each way keeps it connected long enough for the 10 ms watch to see
    nemesis = Nemesis(stack, History())
    sync = cli_replica_with_one_change(stack, "k1", "talking")
    latency = {"type": "latency", "attributes": {"latency": 300}, "stream": "downstream"}
    async with nemesis.fault("network", "api", toxic=latency), \
            nemesis.fault("client_crash", "k1", after_s=60.0):
        started = time.monotonic()
        killed = await sync()
        took = time.monotonic() - started
    assert killed.exit_code == -9 and took < 30.0, "killed while connected, not at after_s"
    await synced_again_and_pushed_once(stack, sync, "talking")


async def test_a_slow_disk_is_slow_not_broken_under_the_fake_clock(stack: Stack) -> None:
    # libfaketime with DONT_FAKE_MONOTONIC fails time.sleep (clock_nanosleep) with EINVAL: a
    # storage delay on the fake-clock server made every write fail, and a crash's hold_ms
    # with it (CI showed the restarted server's log full of OSError [Errno 22])
    client = stack.http_client("api", retry=ONCE, timeout=15.0)
    await stack.set_storage_faults(delay_ms=50.0)
    try:
        started = time.monotonic()
        task = await client.create_task("slow-disk", "written, slowly")
        took = time.monotonic() - started
    finally:
        await stack.clear_storage_faults()
    assert task.content == "written, slowly" and took >= 0.05


async def test_a_server_that_does_not_answer_an_admin_read_is_named_with_its_log(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    import syncbench.stack as stack_module
    from syncbench.stack import StackError

    monkeypatch.setattr(stack_module, "ADMIN_TIMEOUT_S", 0.5)
    async with Nemesis(stack, History()).fault("pause", "server"):
        with pytest.raises(StackError, match=r"did not answer GET .* within 0.5 s .* its log "
                                             r"ends:\n.*tasksync listening"):
            await stack.server_tasks("paused")
