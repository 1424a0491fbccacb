"""Stack start/stop with a real tasksync server and a real Toxiproxy."""

from __future__ import annotations

import socket
import statistics
import time

import psutil
import pytest

from syncbench.machine import free_port
from syncbench.stack import Stack, StackConfig, StackError
from tasksync.client import RetryPolicy
from tasksync.client.errors import TaskSyncError
from tests.support.wait import wait_until

pytest_plugins = ["syncbench.fixtures"]


def port_refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def test_clients_reach_the_server_through_their_group_proxy(stack: Stack) -> None:
    client = stack.http_client()
    task = await client.create_task("r", "through toxiproxy")
    assert stack.url().split(":")[-1] != stack.server_url.split(":")[-1], "not the direct port"
    assert (await stack.server_tasks("r"))[task.id]["content"] == "through toxiproxy"
    assert stack.toxiproxy_info is not None and stack.toxiproxy_info.version


async def test_stop_leaves_no_process_and_no_port(make_stack) -> None:
    stack = await make_stack(groups=("a", "b"))
    server_pid, server_port = stack.server.pid, stack.server.port
    toxiproxy_pid = stack._toxiproxy.pid
    proxy_ports = [stack.proxy(group).address[1] for group in stack.groups]
    await stack.stop()
    assert not psutil.pid_exists(server_pid) or psutil.Process(server_pid).status() == psutil.STATUS_ZOMBIE
    assert toxiproxy_pid is None or not psutil.pid_exists(toxiproxy_pid)
    assert all(port_refuses(port) for port in [server_port, *proxy_ports])


async def test_teardown_runs_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError, match="cell failed"):
        async with Stack() as stack:
            pid = stack.server.pid
            raise RuntimeError("cell failed")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_a_profile_on_one_group_spares_the_other(make_stack) -> None:
    stack = await make_stack(groups=("slow", "fast"))
    slow, fast = stack.http_client("slow"), stack.http_client("fast")
    await slow.noop()
    await fast.noop()
    await stack.apply_profile("slow", "wan")

    async def median_ms(client) -> float:
        samples = []
        for _ in range(15):
            started = time.perf_counter()
            await client.noop()
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    slow_ms, fast_ms = await median_ms(slow), await median_ms(fast)
    assert slow_ms > 60, f"wan adds ~40 ms each way, measured {slow_ms:.1f} ms"
    assert fast_ms < 30, f"the other group is unaffected, measured {fast_ms:.1f} ms"
    await stack.clear_profiles("slow")
    assert await median_ms(slow) < 30


async def test_offline_group_cannot_reach_the_server_until_online(make_stack) -> None:
    stack = await make_stack(groups=("away", "home"))
    quick = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02, deadline=2)
    away = stack.http_client("away", retry=quick)
    home = stack.http_client("home")
    await stack.go_offline("away")
    with pytest.raises(TaskSyncError):
        await away.create_task("r", "lost?")
    await home.create_task("r", "fine")
    await stack.go_online("away")
    await away.create_task("r", "back")
    contents = sorted(task["content"] for task in (await stack.server_tasks("r")).values())
    assert contents == ["back", "fine"]


async def test_storage_faults_and_breaker_are_reachable(stack: Stack) -> None:
    await stack.set_storage_faults(error_rate=1.0, seed=3)
    assert (await stack.breaker())["state"] == "closed"
    await stack.clear_storage_faults()


async def test_url_target_puts_toxiproxy_in_front_of_an_existing_server(server) -> None:
    async with Stack(StackConfig(target="url", url=server.base_url)) as stack:
        assert stack.server is None
        task = await stack.http_client().create_task("r", "remote")
        assert (await stack.server_tasks("r"))[task.id]["origin"].startswith("default-")


async def test_url_target_that_does_not_answer_is_a_clear_error() -> None:
    port = free_port()
    with pytest.raises(StackError, match="no tasksync server answers"):
        async with Stack(StackConfig(target="url", url=f"http://127.0.0.1:{port}")):
            pass


@pytest.mark.parametrize("config, message", [
    ({"target": "cloud"}, "unknown target"),
    ({"target": "url"}, "needs url"),
    ({"groups": ()}, "at least one"),
    ({"groups": ("a", "a")}, "distinct"),
])
def test_bad_configs_are_refused_before_anything_starts(config: dict, message: str) -> None:
    with pytest.raises(StackError, match=message):
        StackConfig(**config)


async def test_unknown_group_and_unknown_profile_are_clear_errors(stack: Stack) -> None:
    with pytest.raises(StackError, match="unknown client group 'nope'"):
        stack.http_client("nope")
    with pytest.raises(ValueError, match="no-such-profile"):
        await stack.apply_profile("default", "no-such-profile")


def test_a_killed_owner_takes_its_servers_with_it(tmp_path) -> None:
    """A notebook kernel killed mid-study must not leave a tasksync server or Toxiproxy behind."""
    import subprocess
    import sys

    script = (
        "import asyncio, sys\n"
        "from syncbench.stack import Stack\n"
        "async def main():\n"
        "    async with Stack() as stack:\n"
        "        print(stack.server.pid, stack._toxiproxy.pid, flush=True)\n"
        "        await asyncio.sleep(600)\n"
        "asyncio.run(main())\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        children = [int(pid) for pid in owner.stdout.readline().split()]
        assert len(children) == 2 and all(psutil.pid_exists(pid) for pid in children)
    finally:
        owner.kill()
        owner.wait(timeout=10)

    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(lambda: all(gone(pid) for pid in children), timeout=15, interval=0.05,
               message=f"orphans {children} gone")
