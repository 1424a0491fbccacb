"""What the MCP study takes: MCP clients through Toxiproxy, and the faults on their way."""

from __future__ import annotations

import math
from dataclasses import dataclass

from syncbench.study import StudyParams, param, require

# The fault choices the schedule draws from, by name (schedule.py says what each plays).
MCP_FAULTS = ("resets", "cut_responses", "outage", "silence", "server_restart")


@dataclass(frozen=True)
class McpParams(StudyParams):
    """The MCP study's parameters (see syncbench.studies.mcp)."""

    clients: int = param(3, "MCP clients (sessions over streamable HTTP), all behind one proxy")
    calls: int = param(60, "tool calls per client, paced over the fault schedule (more while "
                           "windows a slow restart delayed are still to play)")
    faults: list[str] = param(list(MCP_FAULTS), "the fault kinds the schedule draws from, "
                                                "each once per round")
    fault_windows: int = param(5, "fault windows, one after another")
    fault_s: float = param(2.0, "how long each fault window lasts (seconds)")
    gap_s: float = param(2.5, "seconds between two windows (and before the first)")
    attempt_timeout_s: float = param(3.0, "seconds one attempt of a tool call may take before "
                                          "the client gives up on it and re-initialises")
    call_deadline_s: float = param(30.0, "seconds a tool call is retried before it is "
                                         "recorded as unanswered")
    recover_s: float = param(10.0, "seconds after a window's end by which every client must "
                                   "have completed a call again")
    grace_s: float = param(1.0, "a failed attempt started this long after a window's end "
                                "still counts as caused by it (less than gap_s: the rest of "
                                "each gap must be free of failures)")

    study_name = "mcp"

    def validate(self) -> None:
        require(1 <= self.clients <= 32, "clients", self.clients, "1 to 32")
        require(1 <= self.calls <= 100_000, "calls", self.calls, "1 to 100000")
        unknown = sorted(set(self.faults) - set(MCP_FAULTS))
        require(not unknown and len(set(self.faults)) == len(self.faults), "faults",
                self.faults, f"distinct names among {', '.join(MCP_FAULTS)}")
        require(self.fault_windows >= 0 and (self.faults or not self.fault_windows),
                "fault_windows", self.fault_windows, "0 or more (0 when faults is empty)")
        for name, low, high in (("fault_s", 0.5, 60), ("gap_s", 0.5, 120),
                                ("attempt_timeout_s", 0.2, 60), ("call_deadline_s", 1, 600),
                                ("recover_s", 1, 600), ("grace_s", 0, 60)):
            value = getattr(self, name)
            require(math.isfinite(value) and low <= value <= high, name, value,
                    f"{low} to {high} seconds")
        require(self.grace_s < self.gap_s, "grace_s", self.grace_s,
                "less than gap_s: a grace covering the gaps would excuse every failure")
        require(self.call_deadline_s > self.fault_s + self.attempt_timeout_s, "call_deadline_s",
                self.call_deadline_s, "longer than fault_s + attempt_timeout_s: a call "
                "started as a window opens must outlive it")

    @property
    def span_s(self) -> float:
        """From the start to the end of the last window, plus a gap to recover in."""
        return self.gap_s + self.fault_windows * (self.fault_s + self.gap_s)


__all__ = ["MCP_FAULTS", "McpParams"]
