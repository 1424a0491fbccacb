"""The seeded-bug registry: every bug described, the switches, and the server CLI's choices."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tasksync import bugs
from tasksync.cli import cli
from tasksync.server.cli import serve_command
from tasksync.server.config import ServerConfig

AREAS = {"durability", "resume and replay", "cursors and pruning", "cursors and paging",
         "idempotency scope and transactions", "conflict rules and tie-breaks",
         "breaker transitions", "retry timing and key reuse", "outbox handling",
         "change feed", "reads and caching", "tombstones and ids"}
STUDIES = {"sync", "resilience", "conflicts", "crash", "performance"}


@pytest.fixture(autouse=True)
def clean_switches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # set, then removed: monkeypatch then restores the variable, whoever set it since
    monkeypatch.setenv(bugs.ENV_VAR, "")
    monkeypatch.delenv(bugs.ENV_VAR)
    bugs.refresh()
    yield
    bugs.refresh()


@pytest.mark.parametrize("name", sorted(bugs.BUGS))
def test_every_bug_is_described_in_full(name: str) -> None:
    bug = bugs.BUGS[name]
    assert bug.name == name and name.isidentifier() and name == name.lower()
    assert bug.component in bugs.COMPONENTS
    assert bug.area in AREAS
    assert bug.summary and "\n" not in bug.summary
    assert bug.caught_by and all(check.isidentifier() for check in bug.caught_by)
    assert bug.studies and set(bug.studies) <= STUDIES


def test_the_zoo_holds_at_least_fifteen_bugs_in_every_component() -> None:
    assert len(bugs.BUGS) >= 15
    assert {bug.component for bug in bugs.BUGS.values()} == set(bugs.COMPONENTS)


def test_server_bugs_are_exactly_the_serve_choices() -> None:
    option = next(p for p in serve_command.params if p.name == "seeded_bugs")
    assert isinstance(option.type, click.Choice)
    assert set(option.type.choices) == bugs.server_bugs()
    assert bugs.server_bugs() == {n for n, b in bugs.BUGS.items() if b.component == "server"}
    assert ServerConfig(seeded_bugs=bugs.server_bugs()).seeded_bugs == bugs.server_bugs()


def test_an_unknown_name_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown seeded bug 'typo'; choose one of: .*skip_event"):
        bugs.describe("typo")
    with pytest.raises(ValueError, match="unknown seeded bug 'typo'"):
        bugs.enable(["typo"])
    assert bugs.switched_on() == frozenset()
    with pytest.raises(ValueError, match="client and replica bugs"):
        ServerConfig(seeded_bugs=frozenset({"retry_after_ignored"}))


def test_enable_switches_on_here_and_in_child_processes() -> None:
    assert not bugs.active("retry_after_ignored")
    bugs.enable(["retry_after_ignored", "ws_dedupe_by_task"])
    assert bugs.active("retry_after_ignored") and bugs.active("ws_dedupe_by_task")
    assert os.environ[bugs.ENV_VAR] == "retry_after_ignored,ws_dedupe_by_task"
    child = subprocess.run(
        [sys.executable, "-c", "from tasksync import bugs; print(bugs.active('ws_dedupe_by_task'))"],
        capture_output=True, text=True, check=True, env=os.environ)
    assert child.stdout.strip() == "True"


def test_the_environment_variable_is_read_once_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bugs.ENV_VAR, " resync_keeps_deleted , no_such_bug,")
    assert bugs.active("resync_keeps_deleted")  # unknown names are logged and ignored
    assert bugs.switched_on() == {"resync_keeps_deleted"}
    monkeypatch.setenv(bugs.ENV_VAR, "")
    assert bugs.active("resync_keeps_deleted"), "cached until refresh()"
    bugs.refresh()
    assert not bugs.active("resync_keeps_deleted")


def test_enabled_restores_the_switches_it_found() -> None:
    bugs.enable(["retry_after_ignored"])
    with bugs.enabled(["cursor_ignores_has_more"]):
        assert bugs.switched_on() == {"retry_after_ignored", "cursor_ignores_has_more"}
    assert bugs.switched_on() == {"retry_after_ignored"}
    assert os.environ[bugs.ENV_VAR] == "retry_after_ignored"


def test_the_replica_cli_switches_client_and_replica_bugs_on(tmp_path: Path) -> None:
    runner = CliRunner()
    replica = ["--replica", str(tmp_path / "replica.db")]
    result = runner.invoke(cli, [*replica, "--seeded-bug", "resync_keeps_deleted",
                                 "--seeded-bug", "retry_after_ignored", "list"])
    assert result.exit_code == 0, result.output
    assert bugs.switched_on() == {"resync_keeps_deleted", "retry_after_ignored"}

    refused = runner.invoke(cli, [*replica, "--seeded-bug", "skip_event", "list"])
    assert refused.exit_code == 2  # a server bug belongs to `tasksync serve --seeded-bug`
    assert "'skip_event' is not one of" in refused.output
