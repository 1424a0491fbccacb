"""A Stack with target "container": Toxiproxy and the server run as containers (host
network), clients reach the server through their proxies, and the engine's own faults
(docker pause, docker kill) play on the nemesis timeline with their evidence."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import docker
import pytest

from syncbench.containers.engine import LABEL, OWNER_LABEL
from syncbench.containers.server import TasksyncContainer
from syncbench.history import History
from syncbench.nemesis import Nemesis, fault_windows
from syncbench.stack import Stack, StackConfig
from tasksync.client import RetryPolicy
from tasksync.client.errors import TaskSyncError

ONCE = RetryPolicy(max_attempts=1)
pytestmark = pytest.mark.xdist_group("containers")  # see test_server_container.py


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with Stack(StackConfig(target="container", groups=("api",))) as running:
        yield running


def _ours() -> set[str]:
    engine = docker.from_env(timeout=30)
    try:
        return {container.id for container in engine.containers.list(
            all=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"})}
    finally:
        engine.close()


async def test_server_and_toxiproxy_run_as_containers_and_clients_go_through_the_proxy(
        stack: Stack) -> None:
    assert stack.toxiproxy_info is not None and stack.toxiproxy_info.source == "container"
    assert stack.toxiproxy_info.version == "2.12.0"  # stamped into our static build
    assert isinstance(stack.server, TasksyncContainer)
    assert "server container(s) of syncbench/tasksync:" in stack.store_description()
    client = stack.http_client("api", retry=ONCE, timeout=10.0)
    created = await client.create_task("boxed", "through the proxy")
    assert (await stack.server_tasks("boxed"))[created.id]["content"] == "through the proxy"
    await stack.go_offline("api")
    with pytest.raises(TaskSyncError):
        await client.create_task("boxed", "cut off")
    await stack.go_online("api")
    engine = docker.from_env(timeout=30)
    try:
        kinds = {c.labels[LABEL] for c in engine.containers.list(
            filters={"label": f"{OWNER_LABEL}={os.getpid()}"})}
    finally:
        engine.close()
    assert kinds == {"server", "toxiproxy"}


async def test_docker_pause_and_kill_play_as_faults_with_their_evidence(stack: Stack) -> None:
    history = History()
    nemesis = Nemesis(stack, history)
    quick = stack.http_client("api", retry=ONCE, timeout=1.0)
    patient = stack.http_client("api", retry=ONCE, timeout=20.0)
    kept = await patient.create_task("faults", "before")
    async with nemesis.fault("container_pause", "server"):
        assert stack.server is not None and stack.server.status() == "paused"
        with pytest.raises(TaskSyncError):
            await quick.create_task("faults", "while frozen")
    async with nemesis.fault("container_kill", "server"):
        assert stack.server.status() == "exited"
        with pytest.raises(TaskSyncError):
            await quick.create_task("faults", "while dead")
    assert stack.server.running
    assert (await patient.get_task(kept.id)).content == "before"
    starts = {op.args["fault"]: op.args for op in history.operations
              if op.client == "nemesis" and op.operation == "start" and op.outcome == "ok"}
    assert starts["container_pause"]["container_paused"] is True
    assert starts["container_kill"]["container_exited"] is True
    assert starts["container_kill"]["exit_code"] == 137
    windows = fault_windows(history)
    assert list(windows["fault"]) == ["container_pause", "container_kill"]
    assert windows["healed"].all()


async def test_the_pause_fault_stops_every_process_of_the_container(stack: Stack) -> None:
    history = History()
    quick = stack.http_client("api", retry=ONCE, timeout=1.0)
    async with Nemesis(stack, history).fault("pause", "server"):
        with pytest.raises(TaskSyncError):
            await quick.create_task("paused", "while stopped")
    (start,) = [op.args for op in history.operations
                if op.operation == "start" and op.outcome == "ok"]
    assert start["process_stopped"] is True
    assert stack.server is not None and stack.server.running
    await stack.http_client("api", retry=ONCE, timeout=20.0).create_task("paused", "after")


async def test_the_clock_fault_moves_the_clock_of_a_server_in_a_container() -> None:
    from syncbench.nemesis.process import server_clock_at

    async with Stack(StackConfig(target="container", fake_clock=True)) as stack:
        async with Nemesis(stack, History()).fault("clock", "server", offset_s=-45.0):
            assert abs(await server_clock_at(stack, -45.0) + 45.0) < 1.0
        assert abs(await server_clock_at(stack, 0.0)) < 1.0


async def test_a_stack_leaves_no_container_behind() -> None:
    before = _ours()
    async with Stack(StackConfig(target="container")) as stack:
        assert len(_ours() - before) == 2
        await stack.crash_server()  # a crashed server's container is removed all the same
    assert _ours() == before


async def test_replicas_in_containers_share_one_postgresql() -> None:
    config = StackConfig(target="container", store="postgresql", replicas=2, groups=("a", "b"))
    async with Stack(config) as stack:
        assert all(isinstance(server, TasksyncContainer) for server in stack.servers.values())
        assert stack.server_of("a") != stack.server_of("b")
        await stack.http_client("a").create_task("shared", "via server")
        await stack.http_client("b").create_task("shared", "via server-1")
        contents = sorted(t["content"] for t in (await stack.server_tasks("shared")).values())
        seqs = [event["seq"] for event in await stack.change_log("shared")]
    assert contents == ["via server", "via server-1"]
    assert seqs == [1, 2]  # one gap-free log, whichever replica wrote
