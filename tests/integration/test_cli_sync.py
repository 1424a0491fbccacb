"""The `tasksync` CLI against a real server: both run as processes on 127.0.0.1.

Each test starts `tasksync serve` on a free port with its own database and drives replicas
through the CLI (and, at the end, through the Replica API for what a CLI cannot bound
well: live watching). Nothing sleeps: every wait is for a condition, with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from syncbench.server_process import TasksyncProcess
from tasksync.replica import LocalTask, Replica

BIN = Path(sys.executable).parent / "tasksync"
TASKSYNC = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "tasksync.cli"]


class ServerProcess(TasksyncProcess):
    """`tasksync serve` in a child process; restartable on the same port and database."""

    def __init__(self, db_path: Path, *extra: str) -> None:
        super().__init__(db_path.parent, "--rate-limit", "0", *extra, name=db_path.stem)

    @property
    def url(self) -> str:
        return self.base_url

    def tasks(self, repository: str = "default") -> dict[str, dict]:
        """The server's tasks (tombstones too), read over HTTP."""
        response = httpx.get(
            f"{self.url}/api/v1/tasks",
            params={"repository": repository, "include_deleted": "true", "limit": 1000},
            headers={"X-Client-ID": "test-reader", "X-Client-Version": "1.0.0"},
            timeout=10,
        )
        response.raise_for_status()
        return {task["id"]: task for task in response.json()["tasks"]}


@pytest.fixture
def server(tmp_path):
    process = ServerProcess(tmp_path / "server.db")
    process.start()
    yield process
    process.stop()


class CLI:
    """One replica file driven through the `tasksync` command."""

    def __init__(self, replica_path: Path, server: ServerProcess) -> None:
        self.replica_path = replica_path
        self.server = server

    def run(self, *args: str, expect_ok: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSYNC_")}
        result = subprocess.run(
            [*TASKSYNC, "--replica", str(self.replica_path), "--server", self.server.url, *args],
            capture_output=True, text=True, timeout=90, env=env,
        )
        assert "Traceback" not in result.stderr, result.stderr
        if expect_ok:
            assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result

    def tasks(self) -> dict[str, LocalTask]:
        """Every task by id, tombstones too, as `list --all --json` says (Replica.tasks())."""
        rows = json.loads(self.run("list", "--all", "--json").stdout)
        return {row["id"]: LocalTask(**row) for row in rows}

    def unsynced(self) -> int:
        return sum(row["unsynced"] for row in json.loads(self.run("list", "--all", "--json").stdout))


@pytest.fixture
def alice(tmp_path, server):
    return CLI(tmp_path / "alice.db", server)


@pytest.fixture
def bob(tmp_path, server):
    return CLI(tmp_path / "bob.db", server)


def test_offline_edits_reach_the_server_on_sync(tmp_path, server, alice):
    server.stop()  # everything below happens with no server at all
    first = alice.run("add", "buy milk", "--priority", "high").stdout.strip()
    alice.run("add", "call mum", "--id", "call-mum")
    alice.run("add", "throw away", "--id", "junk")
    alice.run("edit", first[:8], "--content", "buy oat milk")
    alice.run("done", "call-mum")
    alice.run("rm", "junk")
    listed = alice.run("list").stdout
    assert "buy oat milk" in listed and "junk" not in listed
    assert alice.unsynced() == 6

    server.start()
    out = alice.run("sync").stdout

    assert "pushed 6" in out and "0 conflicts" in out
    assert alice.unsynced() == 0
    stored = server.tasks()
    assert stored[first]["content"] == "buy oat milk" and stored[first]["priority"] == "high"
    assert stored["call-mum"]["status"] == "completed"
    assert stored["junk"]["deleted"] is True


def test_two_replicas_editing_one_task_converge(alice, bob):
    alice.run("add", "shared", "--id", "t-1")
    alice.run("sync")
    bob.run("sync")
    alice.run("edit", "t-1", "--content", "alice's words")
    bob.run("edit", "t-1", "--content", "bob's words")
    alice.run("sync")

    out = bob.run("sync").stdout

    assert "1 conflict," in out
    assert "local : [pending/medium] \"bob's words\"" in out
    assert "server: [pending/medium] \"alice's words\"" in out
    alice.run("sync")
    assert alice.tasks() == bob.tasks()
    assert bob.tasks()["t-1"].content == "alice's words"


def _diverge(alice: CLI, bob: CLI, *bob_edit: str) -> None:
    """Alice and Bob both change task t-1 from the same version; Alice syncs first."""
    alice.run("add", "original", "--id", "t-1")
    alice.run("sync")
    bob.run("sync")
    alice.run("edit", "t-1", "--content", "alice's")
    alice.run("sync")
    bob.run("edit", "t-1", *bob_edit)


def _converge(alice: CLI, bob: CLI) -> dict[str, LocalTask]:
    alice.run("sync")
    bob.run("sync")
    alice.run("sync")
    assert alice.tasks() == bob.tasks()
    return alice.tasks()


@pytest.mark.parametrize(
    ("strategy", "bob_edit", "winner", "expected"),
    [
        ("server_wins", ("--content", "bob's"), "winner server", ("alice's", "medium")),
        ("client_wins", ("--content", "bob's"), "winner client", ("bob's", "medium")),
        # Bob's clock reads later than the server's write of Alice's edit: the client wins.
        ("last_write_wins", ("--content", "bob's"), "winner client", ("bob's", "medium")),
        # Each changed a different field: the merge keeps both.
        ("merge", ("--priority", "high"), "winner merged", ("alice's", "high")),
    ],
)
def test_each_strategy_decides_the_conflict_and_replicas_converge(
    alice, bob, server, strategy, bob_edit, winner, expected
):
    _diverge(alice, bob, *bob_edit)

    out = bob.run("sync", "--strategy", strategy).stdout

    assert f"({strategy})" in out and winner in out
    final = _converge(alice, bob)
    assert (final["t-1"].content, final["t-1"].priority) == expected
    assert server.tasks()["t-1"]["content"] == expected[0]
    assert bob.run("conflicts").stdout.strip() == "no unresolved conflicts"


@pytest.mark.parametrize(("keep", "expected"), [("local", "bob's"), ("server", "alice's")])
def test_manual_strategy_keeps_both_sides_until_resolved(alice, bob, server, keep, expected):
    _diverge(alice, bob, "--content", "bob's")

    out = bob.run("sync", "--strategy", "manual").stdout

    assert "UNRESOLVED" in out
    assert bob.tasks()["t-1"].content == "bob's"  # the local side stays visible
    listed = bob.run("conflicts").stdout
    assert "local : [pending/medium] \"bob's\"" in listed
    assert "server: [pending/medium] \"alice's\"" in listed
    assert "tasksync resolve t-1 --keep local|server" in listed

    bob.run("resolve", "t-1", "--keep", keep)
    bob.run("sync", "--strategy", "manual")

    assert bob.run("conflicts").stdout.strip() == "no unresolved conflicts"
    assert server.tasks()["t-1"]["content"] == expected
    assert _converge(alice, bob)["t-1"].content == expected


def test_server_down_keeps_the_outbox_and_a_later_sync_succeeds(alice, server):
    alice.run("add", "first", "--id", "t-1")
    alice.run("sync")
    alice.run("edit", "t-1", "--content", "edited offline")
    alice.run("add", "second", "--id", "t-2")
    server.stop()

    failed = alice.run("sync", expect_ok=False)

    assert failed.returncode != 0
    [line] = failed.stderr.strip().splitlines()
    assert f"server unreachable at {server.url}" in line
    assert "your 2 local changes are kept in the outbox" in line
    assert "run `tasksync sync` again when online" in line
    assert alice.unsynced() == 2

    server.start()  # same port, same database
    out = alice.run("sync").stdout

    assert "pushed 2" in out and alice.unsynced() == 0
    assert server.tasks()["t-1"]["content"] == "edited offline"
    assert set(server.tasks()) == {"t-1", "t-2"}


def test_errors_are_one_line_without_a_traceback(alice):
    result = alice.run("edit", "no-such-task", "--content", "x", expect_ok=False)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: no task 'no-such-task' in repository 'default' of this replica;"
        " `tasksync list --all` shows the ids"
    ]


def test_watch_applies_what_others_pushed(alice, bob):
    alice.run("add", "from alice", "--id", "t-1")
    alice.run("sync")

    out = bob.run("watch", "--events", "1", "--seconds", "30").stdout

    assert "#1 task_created t-1" in out and "1 applied" in out
    assert bob.tasks()["t-1"].content == "from alice"


async def test_replica_watch_applies_live_events_as_they_happen(tmp_path, server):
    async with (
        Replica(tmp_path / "writer.db", server_url=server.url) as writer,
        Replica(tmp_path / "watcher.db", server_url=server.url) as watcher,
    ):
        await watcher.sync()
        seen: list[int] = []
        watching = asyncio.create_task(
            watcher.watch(seconds=30, max_events=2, on_event=lambda e, _: seen.append(e.seq))
        )
        writer.add("one", task_id="live-1")
        await writer.sync()
        writer.edit("live-1", status="in_progress")
        await writer.sync()

        report = await asyncio.wait_for(watching, timeout=40)

        assert (report.received, report.applied, report.cursor) == (2, 2, 2)
        assert seen == [1, 2]
        assert watcher.tasks() == writer.tasks()


async def test_a_watch_bounded_by_time_returns_with_no_events(tmp_path, server):
    async with Replica(tmp_path / "quiet.db", server_url=server.url) as replica:
        report = await replica.watch(seconds=0.5)
    assert report.received == 0 and report.duration_s >= 0.5


async def test_sync_fetches_the_full_state_when_the_log_was_pruned(tmp_path):
    server = ServerProcess(tmp_path / "pruned.db", "--log-retention", "2")
    server.start()
    try:
        async with (
            Replica(tmp_path / "a.db", server_url=server.url) as writer,
            Replica(tmp_path / "b.db", server_url=server.url) as late,
        ):
            for n in range(5):
                writer.add(f"task {n}", task_id=f"t-{n}")
            await writer.sync()

            report = await late.sync()

            assert report.resynced
            assert report.gap == (0, 4), "its cursor, and the first seq the log still held"
            assert late.tasks() == writer.tasks()
    finally:
        server.stop()
