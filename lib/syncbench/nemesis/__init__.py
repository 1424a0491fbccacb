"""syncbench.nemesis: every fault on one recorded timeline.

    kinds      the FaultKind interface and the registry of kinds by name
    network    on a group's proxy: `network` (a profile or a toxic), `offline` (refused),
               `partition` (dropped, both ways or replies only)
    storage    `storage` (server storage errors and delay)
    process    a server process ("server", or replica "server-N"): `crash`, `restart`,
               `pause`, `clock` (libfaketime)
    database   between servers and PostgreSQL: `db_link` (a profile or toxic on one
               replica's link), `db_outage` (that link cut), `db_restart` (the database)
    clients    client processes: `client_crash` (a CLI replica killed mid-sync)
    containers a server container (target "container"): `container_pause` (docker pause),
               `container_kill` (docker kill, docker start at the window's end)
    schedule   schedules as data: parse, check, generate from a seed
    nemesis    the Nemesis: plays schedules and single faults, records start/stop, heals
    windows    fault windows derived from the History, for charts and checks
"""

from syncbench.nemesis import clients as _clients  # noqa: F401  (registers its kinds)
from syncbench.nemesis import containers as _containers  # noqa: F401
from syncbench.nemesis import database as _database  # noqa: F401
from syncbench.nemesis import network as _network  # noqa: F401
from syncbench.nemesis import process as _process  # noqa: F401
from syncbench.nemesis import storage as _storage  # noqa: F401
from syncbench.nemesis.kinds import FaultError, FaultKind, fault_kind, fault_kinds, register_fault
from syncbench.nemesis.nemesis import PROCESS, ActiveFault, Nemesis
from syncbench.nemesis.schedule import (
    Fault,
    FaultChoice,
    FaultSchedule,
    ScheduleError,
    generate_schedule,
    parse_schedule,
    parse_window,
)
from syncbench.nemesis.windows import WINDOW_COLUMNS, fault_windows

__all__ = [
    "PROCESS", "WINDOW_COLUMNS", "ActiveFault", "Fault", "FaultChoice", "FaultError",
    "FaultKind", "FaultSchedule", "Nemesis", "ScheduleError", "fault_kind", "fault_kinds",
    "fault_windows", "generate_schedule", "parse_schedule", "parse_window", "register_fault",
]
