"""Recovery times and fault paths from recorded frames: who a fault reaches, when it
counts as recovered, and when a fault counts as having bitten."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd

from syncbench.studies.crash.analysis import PATHS, recovery_frame, recovery_summary

T0 = 1_800_000_000.0


def windows(*rows: tuple[str, str, str, float, float]) -> pd.DataFrame:
    return pd.DataFrame([{
        "fault_id": index, "fault": fault, "target": target, "profile": label, "phase": "lan",
        "start": pd.Timestamp(T0 + start, unit="s", tz="UTC"),
        "end": pd.Timestamp(T0 + end, unit="s", tz="UTC"), "healed": True}
        for index, (fault, label, target, start, end) in enumerate(rows)])


def op(client: str, operation: str, invoke: float, complete: float | None, outcome: str = "ok",
       attempts: float | None = 1, **args: object) -> dict:
    return {"client": client, "operation": operation, "invoke_time": T0 + invoke,
            "complete_time": None if complete is None else T0 + complete, "outcome": outcome,
            "attempts": attempts, **{f"arg_{k}": v for k, v in args.items()}}


def result(ops: list[dict], played: pd.DataFrame, **frames: pd.DataFrame) -> SimpleNamespace:
    operations = pd.DataFrame(ops)
    operations["complete_time"] = operations["complete_time"].astype("float64")
    return SimpleNamespace(frames={"operations": operations, "windows": played, **frames})


def test_recovery_is_the_next_ok_operation_of_a_client_the_fault_reached() -> None:
    played = windows(("crash", "server crashed", "server", 1.0, 2.0),
                     ("partition", "partitioned", "client-1", 3.0, 4.0),
                     ("client_crash", "client crashed", "k0", 5.0, 8.0))
    ops = [op("c0", "create", 1.5, 2.25, "info"), op("c0", "create", 2.3, 2.5),
           op("c1", "get", 4.2, 4.4), op("c0", "get", 4.1, 4.15),  # c0 is not partitioned
           op("k0", "cli_sync", 5.5, 6.0, "info", None, exit_code=-9),
           op("k0", "cli_sync", 6.5, 7.0)]
    recovery = recovery_frame(result(ops, played).frames).set_index("choice")["recovery_s"]
    assert recovery["crash"] == 0.5
    assert math.isclose(recovery["partition"], 0.4)
    assert recovery["client_crash"] == 1.0  # from the kill, not from the window's end
    summary = recovery_summary(recovery_frame(result(ops, played).frames))
    assert list(summary["choice"]) == ["client_crash", "crash", "partition"]


def test_a_client_crash_that_killed_nothing_has_no_recovery() -> None:
    played = windows(("client_crash", "client crashed", "k0", 5.0, 8.0))
    ops = [op("k0", "cli_sync", 5.5, 6.0, exit_code=0)]
    frame = recovery_frame(result(ops, played).frames)
    assert math.isnan(frame.loc[0, "recovery_s"])
    assert PATHS["client_crash"].count(result(ops, played)) == 0


def test_a_crash_bites_writes_in_flight_that_lost_their_answer_not_ones_answered() -> None:
    played = windows(("crash", "server crashed", "server", 1.0, 2.0))
    killed = op("nemesis", "start", 0.99, 1.0, fault="crash", fault_id=0, server_killed=True)
    bitten = [op("c0", "create", 0.9, 2.5, "info", 1), op("c1", "batch", 0.8, 2.4, "ok", 2),
              op("c2", "get", 0.9, 2.5, "info")]  # a read: not a write in flight
    assert PATHS["crash"].count(result([killed, *bitten], played)) == 2
    dud = [op("c0", "create", 0.9, 1.2, "ok", 1),  # answered as if nothing happened
           op("c1", "update", 0.95, 1.5, "ok", 2),  # retried, but done while "down"
           op("k0", "cli_sync", 0.5, 2.5, "info", None)]  # a CLI command: seconds long
    assert PATHS["crash"].count(result([killed, *dud], played)) == 0
    # the same writes lost, but the kill ended no server (a pause or a stall did it)
    not_killed = op("nemesis", "start", 0.99, 1.0, fault="crash", fault_id=0,
                    server_killed=False)
    assert PATHS["crash"].count(result([not_killed, *bitten], played)) == 0
    assert PATHS["crash"].count(result(bitten, played)) == 0


def test_a_crash_counts_the_servers_own_writes_in_flight_when_no_client_saw_one_lost() -> None:
    # a CLI sync's request held at the kill: its command's seconds cannot place it, but the
    # server counted it unanswered just before it died
    played = windows(("crash", "server crashed", "server", 1.0, 2.0))
    held = op("nemesis", "start", 0.99, 1.0, fault="crash", fault_id=0, server_killed=True,
              writes_in_flight_at_kill=1)
    cli = op("k0", "cli_sync", 0.5, 2.5, "ok", None)
    assert PATHS["crash"].count(result([held, cli], played)) == 1
    # clients' lost writes are counted one by one (the server's count is not added)
    lost = op("c0", "create", 0.9, 2.5, "info", 1)
    assert PATHS["crash"].count(result([held, cli, lost], played)) == 1
    # none held: the window did not bite, nor does a count from a kill that ended nothing
    assert PATHS["crash"].count(result([{**held, "arg_writes_in_flight_at_kill": 0}, cli],
                                       played)) == 0
    assert PATHS["crash"].count(result([{**held, "arg_server_killed": False}, cli],
                                       played)) == 0


def test_a_pause_bites_only_when_nothing_was_answered_inside_it() -> None:
    played = windows(("pause", "server paused", "server", 1.0, 2.0))
    stopped = op("nemesis", "start", 0.99, 1.0, fault="pause", fault_id=0,
                 process_stopped=True)
    held = [op("c0", "create", 0.9, 2.1), op("c1", "get", 1.2, 2.2),  # sent early on
            op("c1", "get", 1.5, 2.05),  # sent half way: held too (the kernel says stopped)
            op("c1", "get", 1.95, 2.01),  # sent at its very end: not shown to be held
            op("c2", "update", 0.8, 2.5, "ok", 2),  # nor does a retry spanning it count
            op("c0", "list", 1.0, 2.5)]  # nor a walk over many pages
    assert PATHS["pause"].count(result([stopped, *held], played)) == 3
    # a replica's sync held across it counts too, its local edits never reach the server
    replica = [op("r0", "sync", 1.3, 2.2), op("r0", "local_update", 1.5, 2.3)]
    assert PATHS["pause"].count(result([stopped, *held, *replica], played)) == 4
    # a reply sent before it began, read a moment in: no sign the server was up
    late_read = [stopped, *held, op("c2", "get", 0.99, 1.05)]
    assert PATHS["pause"].count(result(late_read, played)) == 3
    answered_meanwhile = [stopped, *held, op("c2", "get", 1.2, 1.3)]  # sent, answered within
    assert PATHS["pause"].count(result(answered_meanwhile, played)) == 0
    # the same clients' view, but the kernel never showed the server stopped: a slow server
    assert PATHS["pause"].count(result(held, played)) == 0


def test_lost_replies_and_partitions_count_requests_they_dropped_retried_or_held() -> None:
    played = windows(("partition", "replies lost", "client-0", 1.0, 3.0),
                     ("partition", "partitioned", "client-1", 4.0, 6.0))
    ops = [op("c0", "create", 1.5, 11.5, "info"), op("c0", "get", 0.5, 0.6),
           op("c1", "update", 5.0, 6.8, "ok", 2), op("c1", "get", 5.9, 6.01)]
    assert PATHS["lost_replies"].count(result(ops, played)) == 1
    assert PATHS["partition"].count(result(ops, played)) == 1  # a quick answer after is not


def test_a_moved_clock_shows_in_live_events_stamped_its_way_off_their_arrival() -> None:
    played = windows(("clock", "clock -30s", "server", 1.0, 3.0))
    started = op("nemesis", "start", 0.9, 1.0, fault="clock", fault_id=0, offset_s=-30.0)
    deliveries = pd.DataFrame({
        "replay": [False, False, True, False, False],
        "received_time": [T0 + 1.5, T0 + 2.0, T0 + 2.5, T0 + 4.0, T0 + 2.2],
        # behind by 30 s: events look 30 s late; a 2 s delay (a pause just before) is not it,
        # nor an event from the future
        "latency_ms": [30_000.0, 2_000.0, 30_000.0, 30_000.0, -30_000.0]})
    assert PATHS["clock"].count(result([started], played, deliveries=deliveries)) == 0
    shown = op("nemesis", "start", 0.9, 1.0, fault="clock", fault_id=0, offset_s=-30.0,
               server_clock_off_s=-29.998)  # the server's /health showed the offset
    assert PATHS["clock"].count(result([shown], played, deliveries=deliveries)) == 1


def test_a_restart_bites_a_subscriber_replayed_on_reconnecting_after_it() -> None:
    played = windows(("restart", "server restarting", "server", 1.0, 2.0))
    deliveries = pd.DataFrame({
        "subscriber": ["s0", "s0", "s1"], "connection": [1, 2, 2],
        "received_time": [T0 + 0.5, T0 + 2.5, T0 + 2.6], "replay": [False, True, False]})
    stopped = op("nemesis", "start", 0.9, 1.0, fault="restart", fault_id=0,
                 server_stopped=True)
    assert PATHS["restart"].count(result([stopped], played, deliveries=deliveries)) == 1
    # the same reconnection, after a restart that stopped no server (something else did it)
    never = op("nemesis", "start", 0.9, 1.0, fault="restart", fault_id=0,
               server_stopped=False)
    assert PATHS["restart"].count(result([never], played, deliveries=deliveries)) == 0
