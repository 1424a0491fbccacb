"""What the crash-recovery study takes: the generated workload's parameters (it plays the
same writers, CLI replicas and subscribers as the sync study), and which faults to play."""

from __future__ import annotations

import math
from dataclasses import dataclass

from syncbench.studies.sync.params import SyncParams
from syncbench.study import param, require

# The fault choices the study draws from, by name (schedule.py says what each plays).
CRASH_FAULTS = ("crash", "restart", "pause", "clock", "partition", "lost_replies",
                "client_crash", "storage")


@dataclass(frozen=True)
class CrashParams(SyncParams):
    """The crash study's parameters: one network profile, a generated workload, and a fault
    schedule drawn from `faults` (each at least once when there are windows enough)."""

    profiles: tuple[str, ...] = param(("lan",), "network profiles (params/profiles.yaml), a "
                                                "fresh stack each")
    replicas: int = param(1, "in-process replicas (r0, ...), each behind its own proxy")
    subscribers: int = param(2, "WebSocket subscribers, each behind its own proxy: they "
                                "must resume with no gap after every restart")
    cli_replicas: int = param(2, "CLI replicas (k0, ...): a `tasksync` process per command "
                                 "on its own replica file; a client crash kills one mid-sync")
    http_clients: int = param(3, "HTTP clients (task routes and batch sync), each behind its "
                                 "own proxy")
    subscriber_outage_s: float = param(0.0, "not used: the crash study's faults are its "
                                            "schedule (kept for the sync study's shape)")
    generated_operations: int = param(500, "operations to generate")
    weights: dict[str, float] = param({"cli_sync": 10.0}, "weights of op kinds over "
                                      "syncbench.explore.DEFAULT_WEIGHTS (0 excludes one); "
                                      "CLI syncs often (7 commands in 10), for client "
                                      "crashes to meet")
    shrink_budget_s: float = param(0.0, "seconds to spend shrinking a failing run to a "
                                        "minimal one (0: do not shrink)")
    faults: list[str] = param(list(CRASH_FAULTS), "the fault kinds the schedule draws from "
                                                  "(each played at least once when windows "
                                                  "allow; remove one to switch it off)")
    fault_windows: int = param(12, "fault windows in the schedule, spread over the workload "
                                   "one after another")
    fault_max_s: float = param(2.0, "the longest a fault window lasts (seconds); each is "
                                    "drawn from 0.3 s up to this")

    study_name = "crash"

    def validate(self) -> None:
        super().validate()
        require(self.generated, "workload", self.workload,
                "'generated': the crash study plays the generated workload only")
        unknown = sorted(set(self.faults) - set(CRASH_FAULTS))
        require(not unknown and len(set(self.faults)) == len(self.faults), "faults",
                self.faults, f"distinct names among {', '.join(CRASH_FAULTS)}")
        require(self.fault_windows >= 0, "fault_windows", self.fault_windows, "0 or more")
        require(math.isfinite(self.fault_max_s) and 0.3 <= self.fault_max_s <= 60,
                "fault_max_s", self.fault_max_s, "0.3 to 60 seconds")
        require("client_crash" not in self.faults or self.cli_replicas >= 1, "faults",
                self.faults, "no client_crash without a CLI replica (cli_replicas >= 1)")
        require(not {"partition", "lost_replies"} & set(self.faults) or self.http_clients
                + self.cli_replicas >= 1, "faults", self.faults,
                "no partition without HTTP clients or CLI replicas to cut off")


__all__ = ["CRASH_FAULTS", "CrashParams"]
