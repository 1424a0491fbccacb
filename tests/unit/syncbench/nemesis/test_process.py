"""Process faults need a server process the stack started: an external one is refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from syncbench.nemesis import FaultError, fault_kind
from syncbench.nemesis.process import server_pid


def test_pause_is_a_registered_server_fault() -> None:
    kind = fault_kind("pause")
    assert kind.target_kind == "server" and kind.label({}) == "server paused"


def test_an_external_server_cannot_be_signalled() -> None:
    with pytest.raises(FaultError, match="needs the embedded server"):
        server_pid(SimpleNamespace(server=None), "pause")  # type: ignore[arg-type]
    started = SimpleNamespace(server=SimpleNamespace(pid=4242))
    assert server_pid(started, "pause") == 4242  # type: ignore[arg-type]
