"""The MCP study's fault schedule, drawn from the seed: windows one after another, the kinds
of `params.faults` in shuffled rounds (each once per round).

    resets          every connection through the clients' proxy reset (reset_peer)
    cut_responses   each connection cut after 120-600 bytes from the server (limit_data):
                    replies end mid-way, after the server applied the call
    outage          the proxy down: connections refused, open ones cut
    silence         packets dropped both ways: calls hang until the attempt timeout
    server_restart  the server stopped (its sessions forgotten) and started again at the
                    window's end: clients meet refusals, then unknown session ids
"""

from __future__ import annotations

import random
from typing import Any

from syncbench.nemesis import FaultSchedule, parse_schedule
from syncbench.stack_config import SERVER
from syncbench.studies.crash.schedule import shuffled_rounds
from syncbench.studies.mcp.params import McpParams

GROUP = "default"  # every MCP client's proxy


def mcp_schedule(params: McpParams) -> FaultSchedule:
    """The study's schedule (or `params.schedule`, given whole)."""
    if params.schedule:
        return parse_schedule(params.schedule)
    rng = random.Random(params.seed)
    kinds = shuffled_rounds(list(params.faults), params.fault_windows, rng)
    windows = [_window(kind, params.gap_s + index * (params.fault_s + params.gap_s),
                       params.fault_s, rng) for index, kind in enumerate(kinds)]
    return parse_schedule(windows)


def _window(kind: str, at: float, duration: float, rng: random.Random) -> dict[str, Any]:
    window: dict[str, Any] = {"at": round(at, 3), "for": duration, "target": GROUP}
    if kind == "resets":
        window.update(fault="network", toxic={"type": "reset_peer", "attributes": {"timeout": 0}})
    elif kind == "cut_responses":
        window.update(fault="network", toxic={
            "type": "limit_data", "attributes": {"bytes": rng.randint(120, 600)},
            "stream": "downstream"})
    elif kind == "outage":
        window.update(fault="offline")
    elif kind == "silence":
        window.update(fault="partition", direction="both")
    else:
        window.update(fault="restart", target=SERVER)
    return window


__all__ = ["GROUP", "mcp_schedule"]
