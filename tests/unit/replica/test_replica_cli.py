"""The `tasksync` CLI's offline commands and its error output, run in-process."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tasksync.cli import cli
from tests.support.files import foreign_database


@pytest.fixture
def tasksync(tmp_path, monkeypatch):
    for name in ("TASKSYNC_REPLICA", "TASKSYNC_SERVER", "TASKSYNC_REPO", "TASKSYNC_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    replica = str(tmp_path / "replica.db")

    def run(*args: str, code: int = 0):
        result = runner.invoke(
            cli, ["--replica", replica, "--server", "http://127.0.0.1:9", *args]
        )
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return run


def test_add_prints_the_new_id_and_list_shows_it_unsynced(tasksync):
    task_id = tasksync("add", "buy milk", "--priority", "high").stdout.strip()

    listed = tasksync("list").stdout

    assert len(task_id) == 32
    assert listed.startswith("*")
    assert task_id in listed and "[pending/high] 'buy milk'" in listed


def test_edit_done_rm_accept_a_unique_id_prefix(tasksync):
    tasksync("add", "draft", "--id", "report-1")

    assert "'final'" in tasksync("edit", "report", "--content", "final").stdout
    assert "[completed/" in tasksync("done", "report").stdout
    assert "(deleted)" in tasksync("rm", "report").stdout
    assert tasksync("list").stdout == ""
    assert "report-1" in tasksync("list", "--all").stdout


def test_list_json_is_machine_readable(tasksync):
    tasksync("add", "a", "--id", "t-1", "--status", "in_progress")

    [row] = json.loads(tasksync("list", "--json").stdout)

    assert row["id"] == "t-1" and row["status"] == "in_progress"
    assert row["unsynced"] == 1 and row["version"] == 0


def test_add_with_repo_goes_to_that_repository(tasksync):
    tasksync("add", "at home", "--id", "h-1", "--repo", "home")

    assert tasksync("list").stdout == ""
    assert "h-1" in tasksync("--repo", "home", "list").stdout


def test_the_replica_path_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKSYNC_REPLICA", str(tmp_path / "env.db"))
    runner = CliRunner()

    assert runner.invoke(cli, ["add", "x", "--id", "e-1"]).exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_an_unknown_task_is_one_line_on_stderr_with_exit_1(tasksync):
    result = tasksync("done", "nope", code=1)

    assert result.stderr.strip().splitlines() == [
        "Error: no task 'nope' in repository 'default' of this replica;"
        " `tasksync list --all` shows the ids"
    ]
    assert result.stdout == ""


def test_edit_without_a_field_is_a_usage_error(tasksync):
    tasksync("add", "x", "--id", "t-1")

    assert "nothing to change" in tasksync("edit", "t-1", code=2).stderr


def test_an_invalid_id_is_refused_before_anything_is_queued(tasksync):
    result = tasksync("add", "x", "--id", "has space", code=1)

    assert "invalid task id" in result.stderr
    assert tasksync("list", "--all").stdout == ""


def test_conflicts_says_when_there_are_none(tasksync):
    assert tasksync("conflicts").stdout.strip() == "no unresolved conflicts"
    assert tasksync("conflicts", "--all").stdout.strip() == "no conflicts"


def test_resolve_without_a_conflict_explains(tasksync):
    tasksync("add", "x", "--id", "t-1")

    assert "no unresolved conflict" in tasksync("resolve", "t-1", "--keep", "local", code=1).stderr


def test_sync_with_the_server_down_keeps_the_outbox(tasksync):
    tasksync("add", "x", "--id", "t-1")

    result = tasksync("sync", code=1)

    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: server unreachable at http://127.0.0.1:9")
    assert "your 1 local change is kept in the outbox" in line
    assert json.loads(tasksync("list", "--json").stdout)[0]["unsynced"] == 1


def test_an_unexpected_error_is_one_line_too(tasksync, monkeypatch):
    from tasksync.replica import Replica

    def broken(self, include_deleted=False):
        raise OSError("disk on fire")

    monkeypatch.setattr(Replica, "list", broken)
    result = tasksync("list", code=1)

    assert result.stderr.strip() == (
        "Error: unexpected OSError: disk on fire (set TASKSYNC_DEBUG=1 for details)"
    )


def test_an_ambiguous_prefix_lists_the_ids_it_matches(tasksync):
    tasksync("add", "one", "--id", "report-1")
    tasksync("add", "two", "--id", "report-2")

    result = tasksync("done", "report", code=1)

    assert "more than one task id" in result.output
    assert "report-1, report-2" in result.output and "give more of the id" in result.output
    assert "no task" not in result.output


def test_a_file_of_another_application_is_refused_and_left_untouched(tmp_path, monkeypatch):
    monkeypatch.delenv("TASKSYNC_REPLICA", raising=False)
    photos = tmp_path / "photos.db"
    before = foreign_database(photos, "albums")

    result = CliRunner().invoke(cli, ["--replica", str(photos), "add", "lost?"])

    assert result.exit_code == 1
    assert f"{photos} holds tables a tasksync replica does not make (albums)" in result.output
    assert photos.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos.db"]  # no -wal, no -shm


def test_the_servers_database_is_not_a_replica(tmp_path, monkeypatch):
    from tasksync.store.sqlite import SQLiteStore

    monkeypatch.delenv("TASKSYNC_REPLICA", raising=False)
    SQLiteStore(tmp_path / "server.db").close()
    before = (tmp_path / "server.db").read_bytes()

    result = CliRunner().invoke(cli, ["--replica", str(tmp_path / "server.db"), "list"])

    assert result.exit_code == 1
    assert "belongs to tasksync server, not a tasksync replica" in result.output
    assert (tmp_path / "server.db").read_bytes() == before


@pytest.mark.parametrize("seconds", ["nan", "inf", "-inf"])
def test_watch_refuses_a_number_that_is_not_finite(tasksync, seconds):
    result = tasksync("watch", "--seconds", seconds, code=2)

    assert "is not a finite number" in result.output


def test_a_replica_file_that_cannot_be_made_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("TASKSYNC_REPLICA", raising=False)
    (tmp_path / "a-file").write_text("not a folder")
    where = tmp_path / "a-file" / "replica.db"

    result = CliRunner().invoke(cli, ["--replica", str(where), "list"])

    assert result.exit_code == 1
    assert f"cannot open the replica file {where}" in result.output
    assert "unexpected" not in result.output
