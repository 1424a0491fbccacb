"""Shared fixtures: real tasksync servers on 127.0.0.1 with SQLite files in tmp_path."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tasksync.server.config import ServerConfig
from tests.support import containers as support_containers
from tests.support import coverage
from tests.support import postgres as support_postgres
from tests.support.postgres import TestDatabases
from tests.support.servers import ServerProcess, ServerThread


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerThread]]:
    """Start in-process servers with ServerConfig overrides; all stop at teardown."""
    started: list[ServerThread] = []

    def start(**overrides: object) -> ServerThread:
        config = dataclasses.replace(
            ServerConfig(db_path=tmp_path / f"server{len(started)}.db",
                         enable_fault_injection=True),
            **overrides,
        )
        server = ServerThread(config).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., ServerThread]) -> ServerThread:
    """One in-process server with fault injection enabled and default settings."""
    return start_server()


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start `tasksync serve` child processes; all are stopped at teardown."""
    started: list[ServerProcess] = []

    def start(*args: str, db_path: Path | None = None, port: int = 0) -> ServerProcess:
        db_path = db_path or tmp_path / "server.db"
        process = ServerProcess(db_path.parent, *args, port=port, name=db_path.stem).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`, make sure xdist_group is in effect: tests that share a group
    (the e2e smoke run, the studies that time each other) must not run side by side. pytest
    9.2 dropped the nodeid suffix pytest-xdist 3.8 groups by, silently splitting groups."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            raise pytest.UsageError(
                f"xdist_group is not in effect for {item.nodeid}: this pytest "
                f"({pytest.__version__}) and pytest-xdist do not work together; install the "
                "versions pyproject.toml pins (make setup)")


@pytest.fixture
def unmeasured_subprocesses() -> Iterator[None]:
    """The test's subprocesses run without the suite's coverage (tests/support/coverage.py)."""
    with coverage.unmeasured_subprocesses():
        yield


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[TestDatabases]:
    """A PostgreSQL server for this test process (tests/support/postgres.py)."""
    yield from support_postgres.postgres_databases()


@pytest.fixture(params=["sqlite", "postgresql", "qdrant"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each store the server can run on: a test taking this runs once on each."""
    return request.param


@pytest.fixture
def server_store(store_kind: str, request: pytest.FixtureRequest,
                 monkeypatch: pytest.MonkeyPatch) -> str:
    """The `--store` value for `store_kind`: "sqlite", "qdrant" (local mode beside the
    --db file, whatever QDRANT_URL says outside), or a fresh PostgreSQL database."""
    if store_kind == "sqlite":
        return "sqlite"
    if store_kind == "qdrant":
        monkeypatch.delenv("QDRANT_URL", raising=False)  # servers started by the test inherit it
        return "qdrant"
    return request.getfixturevalue("postgres_databases").create()


_CONTAINERS_BEFORE: dict[str, tuple[str, int]] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist)
        support_containers.sweep()  # an earlier run's, killed before it could clean up
        _CONTAINERS_BEFORE.update(support_containers.our_containers())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No container may outlive the run that started it: once every test (and worker) is
    done, a container that was not there at the start and is this run's (or whose owner
    has exited) is a leftover. It is named and removed; under CI the run fails."""
    if hasattr(session.config, "workerinput"):
        return
    left = {cid: name for cid, (name, owner) in support_containers.our_containers().items()
            if cid not in _CONTAINERS_BEFORE and support_containers.ours_or_orphaned(owner)}
    if not left:
        return
    support_containers.remove(set(left))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = (f"{len(left)} container(s) left behind by the tests (now removed): "
               f"{', '.join(sorted(left.values()))}")
    if reporter is not None:
        reporter.write_line(f"ERROR: {message}" if os.environ.get("CI") else f"warning: {message}")
    if os.environ.get("CI"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
