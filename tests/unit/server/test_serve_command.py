"""`tasksync serve`'s refusals: each names the option, port or file and says what to do, and
touches nothing (run in-process: every case stops before the server would listen)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from tasksync.server.cli import serve_command
from tests.support.files import foreign_database


def serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(serve_command, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("option", ["--storage-timeout", "--breaker-open-seconds",
                                    "--rate-limit", "--rate-burst", "--heartbeat-interval",
                                    "--heartbeat-timeout"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_every_number_option_refuses_nan_and_infinities(tmp_path: Path, option: str,
                                                         value: str) -> None:
    code, output = serve("--db", str(tmp_path / "s.db"), option, value)

    assert code == 2
    assert f"Invalid value for '{option}'" in output and "not a finite number" in output
    assert not (tmp_path / "s.db").exists()


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, output = serve("--port", str(port), "--db", str(tmp_path / "s.db"))

    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in output and "another --port" in output


def test_a_database_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    code, output = serve("--port", "0", "--db", str(blocker / "s.db"))

    assert code == 1
    assert f"cannot open the database {blocker / 's.db'}" in output
    assert "Traceback" not in output and "unexpected" not in output


def test_another_applications_database_is_refused_untouched(tmp_path: Path) -> None:
    other = tmp_path / "app.db"
    before = foreign_database(other, "invoices")

    code, output = serve("--port", "0", "--db", str(other))

    assert code == 1
    assert "holds tables a tasksync server does not make (invoices)" in output
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


def test_a_port_file_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    code, output = serve("--port", "0", "--db", str(tmp_path / "s.db"),
                         "--port-file", str(tmp_path / "missing" / "port"))

    assert code == 1
    assert f"cannot write --port-file {tmp_path / 'missing' / 'port'}" in output
