"""The replicas study's own checks, on hand-made frames: each can fail."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from syncbench.stats import latency_summary
from syncbench.studies.replicas import ReplicasParams
from syncbench.studies.replicas.analysis import (
    breaker_isolated,
    delivery_paths,
    others_kept_serving,
)
from syncbench.studies.replicas.schedule import replicas_schedule, window_of

T0 = 1_800_000_000.0
PARAMS = ReplicasParams(generated_operations=10, fault_windows=0)


def windows(*rows: tuple[str, str, float, float]) -> pd.DataFrame:
    return pd.DataFrame([{
        "fault_id": index, "fault": fault, "target": target, "profile": fault, "phase": "lan",
        "start": pd.Timestamp(T0 + start, unit="s", tz="UTC"),
        "end": pd.Timestamp(T0 + end, unit="s", tz="UTC"), "healed": True}
        for index, (fault, target, start, end) in enumerate(rows)])


def breakers(*rows: tuple[str, float]) -> pd.DataFrame:
    return pd.DataFrame([{"profile": "lan", "server": server, "from": "closed", "to": "open",
                          "at_unix": T0 + at, "reason": "failures"} for server, at in rows])


def test_clients_are_spread_over_the_servers_in_group_order() -> None:
    # groups: r0, s0, s1, s2, c0, c1, c2, cli-0 over server, server-1, server-2
    assert [PARAMS.server_of(c) for c in ("r0", "s0", "w1", "s2", "c0", "k0")] == [
        "server", "server-1", "server-2", "server", "server-1", "server-1"]
    assert PARAMS.server_of("c9") is None and PARAMS.server_of("nemesis") is None


def test_a_breaker_opening_on_a_server_without_a_fault_fails() -> None:
    played = windows(("db_outage", "server-1", 1.0, 3.0), ("db_restart", "database", 10.0, 12.0))
    own = {"windows": played, "breakers": breakers(("server-1", 2.0), ("server", 11.0))}
    assert breaker_isolated(PARAMS, own).passed  # its own link; the shared database
    late = {"windows": played, "breakers": breakers(("server-1", 3.0 + PARAMS.breaker_grace_s
                                                     + 0.5))}
    stray = {"windows": played, "breakers": breakers(("server-2", 2.0))}
    for frames in (late, stray):
        check = breaker_isolated(PARAMS, frames)
        assert not check.passed and not check.unknown and check.counterexample


def op(op_id: int, client: str, invoke: float, complete: float, *attempts: str) -> SimpleNamespace:
    return SimpleNamespace(op_id=op_id, client=client, operation="create", invoke_time=T0 + invoke,
                           complete_time=T0 + complete, attempt_outcomes=list(attempts))


def test_trouble_on_another_server_during_a_link_fault_fails_and_its_own_fault_excuses_it() -> None:
    played = windows(("db_link", "server-1", 1.0, 4.0))
    history = SimpleNamespace(operations=[
        op(1, "c0", 1.5, 2.0, "503", "ok"),  # server-1: the faulted one, not judged
        op(2, "c1", 1.5, 2.0, "ok"),  # server-2 answered
        op(3, "r0", 2.0, 3.0, "ReadError", "ok"),  # server: trouble with no fault of its own
    ])
    check, frame = others_kept_serving(PARAMS, {"windows": played}, history)
    assert not check.passed and not check.unknown
    assert [entry["client"] for entry in check.counterexample] == ["r0"]
    assert frame.loc[0, "others_ok"] == 1 and frame.loc[0, "others_failed"] == 1

    for own in (("crash", "server", 2.5, 3.5), ("offline", "replica-0", 2.5, 3.5)):
        excused = windows(("db_link", "server-1", 1.0, 4.0), own)  # its server, its proxy
        check, _ = others_kept_serving(PARAMS, {"windows": excused}, history)
        assert check.passed, own


def test_no_operation_on_the_others_during_link_faults_is_unknown() -> None:
    played = windows(("db_outage", "server-2", 1.0, 2.0))
    check, _ = others_kept_serving(PARAMS, {"windows": played},
                                   SimpleNamespace(operations=[op(1, "c1", 1.2, 1.5, "503")]))
    assert check.unknown


def test_deliveries_are_same_or_cross_replica_by_writer_and_subscriber() -> None:
    frames = {
        "deliveries": pd.DataFrame([
            {"profile": "lan", "subscriber": "s0", "repository": "r", "seq": 1, "replay": False,
             "latency_ms": 5.0},
            {"profile": "lan", "subscriber": "w0", "repository": "r", "seq": 2, "replay": False,
             "latency_ms": 50.0},
            {"profile": "lan", "subscriber": "s0", "repository": "r", "seq": 2, "replay": True,
             "latency_ms": 900.0}]),
        "change_log": pd.DataFrame([
            {"profile": "lan", "repository": "r", "seq": 1, "origin": "c0"},  # server-1
            {"profile": "lan", "repository": "r", "seq": 2, "origin": "c1"}]),  # server-2
    }
    paths = delivery_paths(PARAMS, frames)
    assert list(paths["path"]) == ["same replica", "cross replica"]  # replays left out
    summary = latency_summary(paths, ["path"]).set_index("path")
    assert summary.loc["cross replica", "p50_ms"] == 50.0


def test_the_schedule_is_drawn_from_the_seed_and_plays_every_kind() -> None:
    params = ReplicasParams(generated_operations=50, fault_windows=6)
    operations = [{"client": "c0", "pause": 1.0, "step": n, "op": "create"} for n in range(20)]
    first = replicas_schedule(params, operations)
    assert first == replicas_schedule(params, operations)
    kinds = {(fault.kind, fault.options.get("toxic", {}).get("type")) for fault in first.faults}
    assert kinds == {("db_link", "latency"), ("db_link", "reset_peer"), ("db_link", "timeout"),
                     ("db_outage", None), ("crash", None), ("db_restart", None)}
    assert all(fault.target in ("server", "server-1", "server-2", "database")
               for fault in first.faults)
    with pytest.raises(ValueError, match="unknown replicas-study fault"):
        window_of("meteor", "server")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"store": "sqlite", "servers": 1}, "postgresql: replicas share one database"),
    ({"servers": 1}, "2 or more"),
    ({"faults": ["db_outage", "meteor"]}, "distinct names among"),
    ({"workload": "nominal"}, "generated"),
    ({"storage_timeout_s": 0.1}, "0.5 to 60 seconds"),
])
def test_bad_parameters_say_what_to_give(overrides: dict, message: str) -> None:
    from syncbench.study import StudyParamError

    with pytest.raises(StudyParamError, match=message):
        ReplicasParams(**overrides)
