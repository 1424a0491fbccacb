"""One `tasksync` command as a child process: the History outcome each exit gives, the CLI's
own output parsed, ids named by a prefix, the seeded bugs passed on, and a command past its
deadline (or whose caller gives up) killed, never left running."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from syncbench.explore import cli_process
from syncbench.explore.cli_process import (
    CliRun,
    RunningCommand,
    cli_environment,
    outcome_of,
    run_cli,
    sync_summary,
    unique_prefix,
    unresolved_conflicts,
    watch_summary,
)
from syncbench.history import FAIL, INFO, OK
from tasksync import bugs
from tasksync.cli import _conflict_text, _sync_summary
from tasksync.models import SyncTaskFields
from tasksync.replica import ConflictRecord, SyncReport
from tests.support.wait import wait_until_async

ERROR = "Error: no task 'x' in repository 'tasks-0' of this replica"


def _run(command: str, exit_code: int | None, stderr: str = "") -> CliRun:
    return CliRun(tuple(command.split()), exit_code, "", stderr, 0.1)


@pytest.mark.parametrize(("run", "queued", "outcome"), [
    (_run("add x", 0), 0, OK),
    (_run("sync", 0), 3, OK),
    (_run("edit x", 1, ERROR), 0, FAIL),                      # a refusal changes nothing
    (_run("resolve x", 1, "Error: task 'x' has no unresolved conflict"), 0, FAIL),
    (_run("edit x", 2, "Error: nothing to change"), 0, FAIL),  # usage: nothing ran
    (_run("list --json", None), 0, FAIL),                     # a read changes nothing
    (_run("conflicts", 1, "Error: unexpected OSError: disk"), 0, FAIL),
    (_run("add x", None), 0, INFO),                           # killed: may have committed
    (_run("rm x", 1, "Error: unexpected OperationalError: locked"), 0, INFO),
    (_run("sync", 1, "Error: server unreachable at u"), 2, INFO),  # pushes may have applied
    (_run("sync", 1, "Error: server unreachable at u"), 0, FAIL),  # nothing to push
    (_run("sync", -9), 0, INFO),                              # killed by a signal
    (_run("watch --seconds 1", 1, "Error: server unreachable at u"), 0, FAIL),
])
def test_each_exit_gives_its_history_outcome(run: CliRun, queued: int, outcome: str) -> None:
    assert outcome_of(run, queued=queued) == outcome


def test_the_error_is_the_last_line_on_stderr_or_says_it_was_killed() -> None:
    assert _run("edit x", 1, "Usage: ...\n\n" + ERROR + "\n").error == ERROR
    assert _run("add x", 0).error == ""
    assert "killed after" in _run("sync", None).error
    assert _run("sync", 3).error == "exit code 3, nothing on stderr"


def _conflict(task_id: str, strategy: str, winner: str) -> ConflictRecord:
    fields = SyncTaskFields(content="a", status="pending", priority="low", deleted=False)
    return ConflictRecord(1, 7, "tasks-0", task_id, "3", strategy, winner, 1, None, fields,
                          "2030-01-01T00:00:00Z", None, ["content"], "2030-01-01T00:00:00Z")


def test_the_sync_and_conflicts_outputs_are_read_as_the_cli_writes_them() -> None:
    for conflicts, round_trips in ((1, 1), (2, 3)):
        report = SyncReport(pushed=4, pulled=7, applied=2, round_trips=round_trips,
                            conflicts=[_conflict("t", "manual", "none")] * conflicts,
                            duration_s=0.25, cursor=9, pending=1)
        assert sync_summary(_sync_summary(report, "http://127.0.0.1:1")) == {
            "pushed": 4, "pulled": 7, "applied": 2, "conflicts": conflicts,
            "round_trips": round_trips, "resynced": False, "gap_after": None,
            "gap_first": None}
    reloaded = SyncReport(pushed=0, pulled=3, applied=3, round_trips=1, conflicts=[],
                          duration_s=0.1, cursor=40, resynced=True, gap=(12, 31))
    assert sync_summary(_sync_summary(reloaded, "http://127.0.0.1:1")) == {
        "pushed": 0, "pulled": 3, "applied": 3, "conflicts": 0, "round_trips": 1,
        "resynced": True, "gap_after": 12, "gap_first": 31}
    assert sync_summary("Error: server unreachable") is None
    listing = "\n".join(_conflict_text(record) for record in (
        _conflict("k0-1", "manual", "none"), _conflict("c0-2", "server_wins", "server"),
        _conflict("01ab-x", "manual", "none")))
    assert unresolved_conflicts(listing) == ["k0-1", "01ab-x"]
    assert unresolved_conflicts("no unresolved conflicts") == []
    # tasksync.cli's watch prints f"watched {s:.1f}s: {n} event(s), {a} applied, cursor {c}"
    assert watch_summary("#3 task_created ...\nwatched 1.5s: 2 event(s), 1 applied, "
                         "cursor 12\n") == {"received": 2, "applied": 1, "cursor": 12}


def test_a_prefix_names_one_task_and_no_other() -> None:
    ids = ["01ab7f00", "01ab7e11", "c0-1", "c0-12", "shared-3"]
    assert unique_prefix("01ab7f00", ids) == "01ab7f"
    assert unique_prefix("c0-12", ids) == "c0-12"
    assert unique_prefix("c0-1", ids) == "c0-1", "a prefix of another id: the whole id"
    assert unique_prefix("shared-3", ids) == "shar"


def test_the_seeded_bugs_switched_on_here_reach_the_cli(monkeypatch) -> None:
    monkeypatch.delenv(bugs.ENV_VAR, raising=False)
    monkeypatch.setenv("TASKSYNC_SERVER", "http://elsewhere:1")
    bugs.refresh()
    assert bugs.ENV_VAR not in cli_environment()
    assert "TASKSYNC_SERVER" not in cli_environment(), "the flags say which server"
    with bugs.enabled(["cursor_ignores_has_more"]):
        assert cli_environment()[bugs.ENV_VAR] == "cursor_ignores_has_more"
    bugs.refresh()


async def test_a_child_sees_the_seeded_bug_and_a_command_runs_to_its_exit(monkeypatch) -> None:
    shows_bugs = (sys.executable, "-c", "import os, sys; print(os.environ.get("
                  f"{bugs.ENV_VAR!r}, '')); sys.exit(int(sys.argv[-1]))")
    monkeypatch.setattr(cli_process, "CLI", shows_bugs)
    with bugs.enabled(["outbox_clear_before_reply"]):
        run = await run_cli(["--replica", "x.db"], ["3"], deadline_s=30)
    bugs.refresh()
    assert (run.exit_code, run.stdout.strip()) == (3, "outbox_clear_before_reply")


async def test_the_real_cli_runs_and_says_its_version() -> None:
    run = await run_cli([], ["--version"], deadline_s=30)
    assert run.exit_code == 0 and run.stdout.startswith("tasksync")


@pytest_asyncio.fixture
async def silent_server() -> AsyncIterator[str]:
    """A TCP server that accepts and never answers: a watch against it waits."""
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    async with server:
        yield f"http://{host}:{port}"


async def test_a_command_past_its_deadline_is_killed(silent_server: str, tmp_path) -> None:
    options = ["--replica", str(tmp_path / "k.db"), "--server", silent_server]
    running: list[asyncio.subprocess.Process] = []
    run = await run_cli(options, ["watch", "--seconds", "30"], deadline_s=1.0,
                        started=running)
    assert run.exit_code is None and "killed" in run.error
    assert 1.0 <= run.duration_s < 10 and not running
    assert outcome_of(run) == INFO


async def test_a_cancelled_command_is_killed_too(silent_server: str, tmp_path) -> None:
    options = ["--replica", str(tmp_path / "k.db"), "--server", silent_server]
    running: list[RunningCommand] = []
    task = asyncio.create_task(run_cli(options, ["watch", "--seconds", "30"],
                                       deadline_s=60, started=running))
    await wait_until_async(lambda: running, message="the watch started")
    assert running[0].command == ("watch", "--seconds", "30")
    process = running[0].process
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert process.returncode is not None and not running
