"""A tasksync server in a container, on the host network, with our image: it serves, keeps
its data across docker kill and docker start, freezes under docker pause, and leaves no
container behind."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import httpx
import pytest

from syncbench.containers.engine import LABEL, OWNER_LABEL
from syncbench.containers.images import TOXIPROXY_IMAGE, server_image
from syncbench.containers.server import TasksyncContainer
from syncbench.server_process import ServerStartFailed

# one worker for every container test: a stack's sweep must not meet another test's
# deliberately orphaned container
pytestmark = pytest.mark.xdist_group("containers")


@pytest.fixture
def engine():
    client = docker.from_env(timeout=60)
    yield client
    client.close()


def _create(base: str, content: str) -> dict:
    response = httpx.post(f"{base}/api/v1/tasks", json={"repository": "box", "content": content},
                          timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def _tasks(base: str) -> list[str]:
    response = httpx.get(f"{base}/api/v1/tasks", params={"repository": "box"}, timeout=10)
    return [task["content"] for task in response.json()["tasks"]]


def test_a_killed_container_comes_back_with_its_data_on_its_port(tmp_path: Path,
                                                                 engine) -> None:
    server = TasksyncContainer(tmp_path, "--enable-fault-injection", image=server_image())
    try:
        server.start()
        container_id = server.container.id
        port = server.port
        _create(server.base_url, "before the kill")
        container = engine.containers.get(server.container.id)
        assert container.attrs["HostConfig"]["NetworkMode"] == "host"
        assert container.labels[LABEL] == "server"
        assert container.labels[OWNER_LABEL] == str(os.getpid())
        assert (tmp_path / "server.db").exists()  # the database lives in the mounted workdir

        assert server.kill() is True
        assert server.status() == "exited"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.base_url}/health", timeout=2)
        assert server.kill() is False  # not running: nothing to kill

        server.start()
        assert server.port == port
        assert _tasks(server.base_url) == ["before the kill"]
        assert server.stop() == 0  # docker stop: SIGTERM, a graceful exit
        server.start()
        assert _tasks(server.base_url) == ["before the kill"]
    finally:
        server.close()
    assert not engine.containers.list(all=True, filters={"id": container_id})


def test_a_paused_container_answers_nothing_until_unpaused(tmp_path: Path) -> None:
    server = TasksyncContainer(tmp_path, image=server_image())
    try:
        server.start()
        assert server.pause() is True
        assert server.status() == "paused" and server.running  # frozen, not gone
        with pytest.raises(httpx.TimeoutException):  # connected, but no process runs to answer
            httpx.get(f"{server.base_url}/health", timeout=1.0)
        server.resume()
        assert httpx.get(f"{server.base_url}/health", timeout=10).status_code == 200
        assert server.kill_with("SIGTERM") == 0  # the server's own graceful exit
    finally:
        server.close()


def test_another_image_runs_its_own_command_with_the_port_it_was_given(tmp_path: Path) -> None:
    # our image, but started the way a user's image is: its command, the port substituted
    server = TasksyncContainer(
        tmp_path, image=server_image(), tasksync=False, health_path="health",
        command=["serve", "--host", "127.0.0.1", "--port", "{port}", "--db", "/data/own.db"])
    try:
        server.start()
        assert (tmp_path / "own.db").exists()
        assert httpx.get(f"{server.base_url}/health", timeout=10).json()["status"] == "ok"
    finally:
        server.close()


def test_a_server_that_never_gets_healthy_is_reported_with_its_log(tmp_path: Path) -> None:
    server = TasksyncContainer(tmp_path, "--no-such-flag", image=server_image())
    try:
        with pytest.raises(ServerStartFailed, match="no-such-flag"):
            server.start()
    finally:
        server.close()


def test_a_missing_image_says_how_to_build_it(tmp_path: Path) -> None:
    server = TasksyncContainer(tmp_path, image="syncbench/tasksync:no-such-tag")
    with pytest.raises(ServerStartFailed, match="make containers"):
        server.start()


def test_the_sweep_removes_containers_whose_owner_died_and_spares_live_owners(engine) -> None:
    from syncbench.containers.engine import sweep_leftovers

    dead = _dead_pid()
    common = {"image": TOXIPROXY_IMAGE, "command": ["-host", "127.0.0.1", "-port", "1"],
              "network_mode": "host", "detach": True}
    orphan = engine.containers.create(labels={LABEL: "toxiproxy", OWNER_LABEL: str(dead)},
                                      **common)
    owned = engine.containers.create(labels={LABEL: "toxiproxy",
                                             OWNER_LABEL: str(os.getpid())}, **common)
    try:
        removed = sweep_leftovers(engine)
        assert owned.name not in removed
        remaining = {c.id for c in engine.containers.list(all=True, filters={"label": LABEL})}
        assert orphan.id not in remaining and owned.id in remaining
    finally:
        for container in (orphan, owned):
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass


def _dead_pid() -> int:
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
