"""The replicas study's fault schedule, drawn from the seed: windows one after another
across the workload, the kinds of `params.faults` in shuffled rounds, each on a replica
drawn at random (the database restart on the database itself):

    db_latency     300 ms (+-100) on every packet of one replica's database link
    db_resets      one replica's database connections reset as soon as they carry data
    db_timeouts    one replica's database link silent: data dropped, connections kept open
                   (the server breaks a call off after its storage deadline)
    db_outage      one replica's database link cut: connections refused and closed
    replica_crash  one replica SIGKILLed, started again at the window's end
    db_restart     PostgreSQL shut down at once (as a crash), started again at the end

One fault at a time, so that a breaker that opens, or a delivery that lags, has one cause.
"""

from __future__ import annotations

import random
from typing import Any

from syncbench.nemesis import FaultSchedule, parse_schedule
from syncbench.stack_config import server_names
from syncbench.studies.crash.schedule import LAST_AT, pace, planned_ends, shuffled_rounds, slots
from syncbench.studies.replicas.params import ReplicasParams
from syncbench.studies.sync.params import SyncParams

MIN_S = 1.5  # every window meets requests on its replica (it serves a third of the clients)


def window_of(kind: str, server: str) -> dict[str, Any]:
    """The fault a choice plays, as schedule data (no timing)."""
    toxic = {"db_latency": {"type": "latency", "attributes": {"latency": 300, "jitter": 100}},
             "db_resets": {"type": "reset_peer", "attributes": {"timeout": 0}},
             "db_timeouts": {"type": "timeout", "attributes": {"timeout": 0}}}
    if kind in toxic:
        return {"fault": "db_link", "target": server, "toxic": toxic[kind]}
    if kind == "db_outage":
        return {"fault": "db_outage", "target": server}
    if kind == "replica_crash":
        return {"fault": "crash", "target": server}
    if kind == "db_restart":
        return {"fault": "db_restart", "target": "database"}
    raise ValueError(f"unknown replicas-study fault {kind!r}")


def replicas_schedule(params: ReplicasParams, operations: list[dict[str, Any]]
                      ) -> FaultSchedule:
    """`params.schedule` when given (a replay), else `params.fault_windows` windows drawn
    with `random.Random(params.seed + 3)` within the HTTP clients' planned work."""
    if params.schedule or params.operations:
        return parse_schedule(params.schedule)
    kinds = list(params.faults)
    if not kinds or not params.fault_windows:
        return FaultSchedule()
    rng = random.Random(params.seed + 3)
    order = shuffled_rounds(kinds, params.fault_windows, rng)
    first, slot = slots(planned_ends(operations), len(order))
    servers = server_names(params.servers)
    windows, end = [], 0.0
    for index, kind in enumerate(order):
        longest = max(MIN_S, params.fault_max_s)
        duration = rng.uniform(MIN_S, longest)
        at = first + index * slot + rng.uniform(0.0, max(0.0, slot - duration))
        at = max(at, end + 0.05)  # a short workload's slots are shorter than a window
        end = at + duration
        windows.append({"at": round(at, 3), "for": round(duration, 3),
                        **window_of(kind, rng.choice(servers))})
    return parse_schedule([{**window, "phase": profile} for profile in params.profiles
                           for window in windows])


def plan_replicas(params: SyncParams, operations: list[dict[str, Any]]) -> FaultSchedule:
    """The schedule for `run_generated` (its planner signature), and the freshly generated
    `operations` paced (in place) to go on until it has played."""
    assert isinstance(params, ReplicasParams)
    schedule = replicas_schedule(params, operations)
    if schedule and not (params.schedule or params.operations):
        pace(operations, schedule.length / LAST_AT)
    return schedule


__all__ = ["plan_replicas", "replicas_schedule", "window_of"]
