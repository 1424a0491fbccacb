"""The crash study's fault schedule, drawn from the seed: windows one after another across
the workload, the kinds of `params.faults` in shuffled rounds (each once per round),
so a server fault never overlaps another (a crash during a pause would be two faults at
once, and their recovery times could not be told apart).

    crash          the server SIGKILLed with requests in flight (storage held 150 ms for
                   300 ms first), restarted on its database and port at the end
    restart        the server SIGTERMed (WebSockets closed 1012), started again at the end
    pause          the server SIGSTOPped, SIGCONTed at the end (at least 1.5 s: a request
                   held that long by a silent server is told from a slow one, and the
                   window meets requests)
    clock          the server's wall clock 5 to 60 s ahead or behind, one in three drifting
                   (at least 2.5 s: writes must be stamped meanwhile)
    partition      the HTTP clients' groups dropped both ways (at least 1.5 s) while the
                   replicas, CLI replicas and subscribers go on
    lost_replies   the HTTP clients' groups: requests arrive, replies are lost (>= 1.5 s)
    client_crash   a CLI replica's `tasksync sync` SIGKILLed mid-way (the replica syncs in
                   the background while the crash waits: nemesis/clients.py)
    storage        30% of the server's storage calls fail (at least 1.5 s)
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from syncbench.nemesis import FaultSchedule, parse_schedule
from syncbench.studies.crash.params import CrashParams
from syncbench.studies.sync.params import cli_group, group_of

MIN_S = 0.3
# a fault on some clients, or one that shows only in what is written meanwhile, must last
# long enough for its clients to send something
MIN_S_OF = {"partition": 1.5, "lost_replies": 1.5, "clock": 2.5, "pause": 1.5,
            "storage": 1.5}  # 30% of calls fail: a 0.3 s window met none (1 seed of 20)
# a CLI replica runs a command every 1.5 s or so, 7 in 10 a sync: the window must see one
# start (2.5-4 s windows met none on 3 seeds of 20)
CLIENT_CRASH_S = (4.0, 6.0)
CRASH_HOLD_MS = 150.0
CLI_COMMAND_S = 0.5  # a `tasksync` command's run, interpreter start included (0.45-1.6 s)
FIRST_AT = 0.1  # the schedule begins after this share of the workload (clients warmed up)
LAST_AT = 0.9


def planned_ends(operations: list[dict[str, Any]]) -> dict[str, float]:
    """Each client's planned pauses added up: until when it works at least."""
    planned: dict[str, float] = {}
    for op in operations:
        planned[op["client"]] = planned.get(op["client"], 0.0) + float(op.get("pause") or 0.0)
    return planned


def shuffled_rounds(kinds: list[str], count: int, rng: random.Random) -> list[str]:
    """`count` kinds: each kind once per round, each round shuffled."""
    order: list[str] = []
    while len(order) < count:
        order += rng.sample(kinds, len(kinds))
    return order[:count]


def slots(ends: dict[str, float], count: int) -> tuple[float, float]:
    """Where the first of `count` windows may begin and how long each one's slot is:
    within every HTTP client's planned work (they write most; real time runs longer than
    the planned pauses), else within the longest client's."""
    writers = [end for client, end in ends.items() if client.startswith("c")]
    span = min(writers) if writers else max(ends.values(), default=1.0)
    return FIRST_AT * span, (LAST_AT - FIRST_AT) * span / count


def crash_schedule(params: CrashParams, operations: list[dict[str, Any]]) -> FaultSchedule:
    """`params.schedule` when given (a replay; with given `operations`, only that), else
    `params.fault_windows` windows drawn with `random.Random(params.seed + 2)` (within the
    HTTP clients' planned work: `plan_crash` paces them to it)."""
    if params.schedule or params.operations:
        return parse_schedule(params.schedule)
    kinds = list(params.faults)
    if not kinds or not params.fault_windows:
        return FaultSchedule()
    rng = random.Random(params.seed + 2)  # apart from the workload's and the sync study's
    order = shuffled_rounds(kinds, params.fault_windows, rng)
    ends = planned_ends(operations)
    first, slot = slots(ends, len(order))
    windows = []
    for index, kind in enumerate(order):
        shortest = MIN_S_OF.get(kind, MIN_S)
        longest = max(shortest, min(params.fault_max_s, 0.8 * slot))
        duration = (rng.uniform(*CLIENT_CRASH_S) if kind == "client_crash"
                    else rng.uniform(shortest, longest))
        at = first + index * slot + rng.uniform(0.0, max(0.0, slot - duration))
        for fault in _faults(kind, params, rng, busy_at(ends, at + duration)):
            windows.append({"at": round(at, 3), "for": round(duration, 3), **fault})
    # windows may run into the next slot (a client crash's is long): keep them in order,
    # each after the last one's end (a partition's windows, one per group, start together)
    end, planned, moved = 0.0, None, 0.0
    for window in windows:
        if window["at"] == planned:  # drawn together: moved together
            window["at"] = moved
        else:
            planned = window["at"]
            window["at"] = moved = round(max(window["at"], end + 0.05), 3)
        end = max(end, window["at"] + window["for"])
    return parse_schedule([{**window, "phase": profile} for profile in params.profiles
                           for window in windows])


def plan_crash(params: CrashParams, operations: list[dict[str, Any]]) -> FaultSchedule:
    """The crash schedule for a run's freshly generated `operations`, and those operations
    paced (in place) to go on until the schedule has played (a replay's, given, are not)."""
    schedule = crash_schedule(params, operations)
    if schedule and not (params.schedule or params.operations):
        pace(operations, schedule.length / LAST_AT)
    return schedule


def pace(operations: list[dict[str, Any]], until: float) -> None:
    """Stretch the pauses of every client whose planned work ends before `until` so that
    it ends then: windows drawn at least MIN_S_OF long add up to more than a small
    workload's planned time, and a fault after its clients are done meets nobody. A CLI
    replica's command is a process: each counts CLI_COMMAND_S on top of its pauses (left
    alone, CLI replicas were done a third of the way in, and a client crash late in the
    schedule met no sync: 3 of 20 seeds)."""
    commands = Counter(op["client"] for op in operations)
    for client, planned in planned_ends(operations).items():
        busy = CLI_COMMAND_S * commands[client] if client.startswith("k") else 0.0
        if planned <= 0 or planned + busy >= until:
            continue
        stretch = (until - busy) / planned
        for op in operations:
            if op["client"] == client:
                op["pause"] = round(float(op.get("pause") or 0.0) * stretch, 4)


def busy_at(ends: dict[str, float], until: float) -> list[str]:
    """The proxy groups of HTTP clients still working at `until` (planned), busiest first
    when none is: a partition must meet requests to show."""
    http = {client: end for client, end in ends.items() if client.startswith("c")}
    working = sorted(group_of(client) for client, end in http.items() if end >= until)
    return working or [group_of(client) for client in sorted(http, key=http.__getitem__,
                                                             reverse=True)[:1]]


def _faults(kind: str, params: CrashParams, rng: random.Random,
            busy: list[str]) -> list[dict[str, Any]]:
    """The window(s) of one drawn fault: one, or a partition's one per group it cuts."""
    clis = [cli_group(i) for i in range(params.cli_replicas)]
    if kind == "crash":  # storage held first: writes are in flight inside it when it dies
        return [{"fault": "crash", "target": "server", "hold_ms": CRASH_HOLD_MS}]
    if kind in ("restart", "pause"):
        return [{"fault": kind, "target": "server"}]
    if kind == "clock":
        offset = round(rng.choice((-1, 1)) * rng.uniform(5.0, 60.0), 3)
        drift = round(rng.choice((-1, 1)) * rng.uniform(0.5, 2.0), 3) if rng.random() < 1 / 3 else 0
        return [{"fault": "clock", "target": "server", "offset_s": offset,
                 **({"drift": drift} if drift else {})}]
    if kind in ("partition", "lost_replies"):
        # the HTTP clients still working (CLI replicas when there is none) are cut off
        # together while replicas, CLI replicas and subscribers go on: one client alone may
        # sit out the window waiting on an earlier request, all of them hardly
        direction = "both" if kind == "partition" else "replies"
        return [{"fault": "partition", "target": group, "direction": direction}
                for group in (busy or clis)]
    if kind == "client_crash":
        return [{"fault": "client_crash", "target": f"k{rng.randrange(params.cli_replicas)}",
                 # killed once seen connected, else this far in (past the interpreter's
                 # start, ~0.25 s; a LAN sync's whole run is 0.45 s or more)
                 "after_s": round(rng.uniform(0.25, 0.45), 3)}]
    if kind == "storage":
        return [{"fault": "storage", "target": "server", "error_rate": 0.3,
                 "seed": rng.randrange(1 << 16)}]
    raise ValueError(f"unknown crash study fault {kind!r}")


__all__ = ["busy_at", "crash_schedule", "pace", "plan_crash", "planned_ends",
           "shuffled_rounds", "slots"]
