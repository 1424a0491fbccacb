"""What the replicas study takes: the generated workload spread over server replicas on one
PostgreSQL, and the faults between them and their database."""

from __future__ import annotations

import math
from dataclasses import dataclass

from syncbench.studies.sync.params import SyncParams
from syncbench.study import param, require

# The fault choices the study draws from, by name (schedule.py says what each plays).
REPLICA_FAULTS = ("db_latency", "db_resets", "db_timeouts", "db_outage", "replica_crash",
                  "db_restart")


@dataclass(frozen=True)
class ReplicasParams(SyncParams):
    """The replicas study's parameters (see syncbench.studies.replicas)."""

    profiles: tuple[str, ...] = param(("lan",), "network profiles (params/profiles.yaml), a "
                                                "fresh stack each")
    store: str = param("postgresql", "postgresql: the replicas share one database")
    servers: int = param(3, "server replicas on one database; client group i reaches "
                            "server i % servers")
    replicas: int = param(1, "in-process replicas (r0, ...), each behind its own proxy")
    subscribers: int = param(3, "WebSocket subscribers, spread over the servers with the "
                                "other groups: most see writes accepted by other replicas")
    cli_replicas: int = param(1, "CLI replicas (k0, ...)")
    http_clients: int = param(3, "HTTP clients, each behind its own proxy")
    subscriber_outage_s: float = param(0.0, "not used: the study's faults are its schedule")
    generated_operations: int = param(500, "operations to generate")
    shrink_budget_s: float = param(0.0, "seconds to spend shrinking a failing run (0: do "
                                        "not shrink)")
    faults: list[str] = param(list(REPLICA_FAULTS), "the fault kinds the schedule draws from "
                                                    "(each at least once when windows allow)")
    fault_windows: int = param(12, "fault windows, one after another across the workload")
    fault_max_s: float = param(2.5, "the longest a fault window lasts (seconds)")
    storage_timeout_s: float = param(2.0, "each server's storage deadline (tasksync serve "
                                          "--storage-timeout): a request waits no longer "
                                          "for the database, and a database call blocked "
                                          "on a silent link is broken off after it")
    breaker_grace_s: float = param(2.0, "a breaker that opens this long after a fault on its "
                                        "own server ended still counts as opened by it")

    study_name = "replicas"

    def validate(self) -> None:
        super().validate()
        require(self.generated, "workload", self.workload,
                "'generated': the replicas study plays the generated workload only")
        require(self.store == "postgresql", "store", self.store,
                "postgresql: replicas share one database")
        require(self.servers >= 2, "servers", self.servers,
                "2 or more: the study is about replicas")
        unknown = sorted(set(self.faults) - set(REPLICA_FAULTS))
        require(not unknown and len(set(self.faults)) == len(self.faults), "faults",
                self.faults, f"distinct names among {', '.join(REPLICA_FAULTS)}")
        require(self.fault_windows >= 0, "fault_windows", self.fault_windows, "0 or more")
        require(math.isfinite(self.fault_max_s) and 1.5 <= self.fault_max_s <= 60,
                "fault_max_s", self.fault_max_s, "1.5 to 60 seconds")
        require(math.isfinite(self.storage_timeout_s) and 0.5 <= self.storage_timeout_s <= 60,
                "storage_timeout_s", self.storage_timeout_s, "0.5 to 60 seconds")
        require(math.isfinite(self.breaker_grace_s) and 0 <= self.breaker_grace_s <= 60,
                "breaker_grace_s", self.breaker_grace_s, "0 to 60 seconds")

    def extra_server_options(self) -> tuple[str, ...]:
        return ("--storage-timeout", str(self.storage_timeout_s))


__all__ = ["REPLICA_FAULTS", "ReplicasParams"]
