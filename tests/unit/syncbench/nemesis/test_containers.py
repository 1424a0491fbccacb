"""The container faults: registered, options checked, and a stack of processes refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from syncbench.nemesis import FaultError, fault_kind, parse_schedule
from syncbench.nemesis.containers import server_container


def test_container_faults_are_registered_server_faults() -> None:
    pause, kill = fault_kind("container_pause"), fault_kind("container_kill")
    assert pause.target_kind == kill.target_kind == "server"
    assert pause.label({}) == "container paused"
    assert kill.label({}) == "container killed"
    assert kill.label(kill.options({"signal": "SIGTERM"})) == "container SIGTERM"
    assert kill.options({"signal": "SIGKILL"}) == {}  # the default, not repeated


def test_a_bad_signal_is_refused_naming_the_ones_there_are() -> None:
    with pytest.raises(FaultError, match="signal must be one of SIGKILL, SIGTERM, SIGINT"):
        fault_kind("container_kill").options({"signal": "SIGSTOP"})
    with pytest.raises(Exception, match="signal"):
        parse_schedule([{"at": 0, "for": 1, "fault": "container_kill", "target": "server",
                         "signal": 9}])


def test_a_stack_of_processes_is_refused_with_what_to_do() -> None:
    processes = SimpleNamespace(servers={"server": SimpleNamespace(pid=4242)})
    with pytest.raises(FaultError, match="needs the server in a container.*target=container"):
        server_container(processes, "container_pause", "server")  # type: ignore[arg-type]
    with pytest.raises(FaultError, match="no server 'server-2'"):
        server_container(processes, "container_kill", "server-2")  # type: ignore[arg-type]
