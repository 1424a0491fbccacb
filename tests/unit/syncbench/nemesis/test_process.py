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
        server_pid(SimpleNamespace(servers={}), "pause")  # type: ignore[arg-type]
    started = SimpleNamespace(servers={"server": SimpleNamespace(pid=4242),
                                       "server-1": SimpleNamespace(pid=4343)})
    assert server_pid(started, "pause") == 4242  # type: ignore[arg-type]
    assert server_pid(started, "pause", "server-1") == 4343  # type: ignore[arg-type]
    with pytest.raises(FaultError, match="no server 'server-7'; this stack has server, server-1"):
        server_pid(started, "pause", "server-7")  # type: ignore[arg-type]


@pytest.mark.parametrize(("window", "field"), [
    ({"fault": "clock", "offset_s": "soon"}, "offset_s"),
    ({"fault": "clock", "offset_s": 1e9}, "offset_s"),
    ({"fault": "clock"}, "give offset_s"),
    ({"fault": "clock", "drift": float("nan")}, "drift"),
    ({"fault": "crash", "hold_ms": -1}, "hold_ms"),
    ({"fault": "crash", "after_s": 1}, "unknown option 'after_s'"),
    ({"fault": "client_crash", "after_s": 61}, "after_s"),
    ({"fault": "partition", "direction": "sideways"}, "direction"),
    ({"fault": "storage", "error_rate": 2}, "error_rate"),
])
def test_bad_options_are_refused_naming_the_option(window: dict, field: str) -> None:
    from syncbench.nemesis import ScheduleError, parse_window

    with pytest.raises(ScheduleError, match=field):
        parse_window({"at": 0, "for": 1, "target": "server", **window})


def test_each_kind_says_what_it_did_in_its_label() -> None:
    assert fault_kind("clock").label({"offset_s": -30.0, "drift": 0.5}) == \
        "clock -30s drift +0.5s/s"
    assert fault_kind("partition").label({"direction": "replies"}) == "replies lost"
    assert fault_kind("partition").label({"direction": "both"}) == "partitioned"
    assert fault_kind("crash").options({}) == {}
    assert fault_kind("crash").options({"hold_ms": 150}) == {"hold_ms": 150.0}
    assert {name: fault_kind(name).target_kind for name in
            ("crash", "restart", "pause", "clock", "client_crash", "partition")} == {
        "crash": "server", "restart": "server", "pause": "server", "clock": "server",
        "client_crash": "client", "partition": "group"}
