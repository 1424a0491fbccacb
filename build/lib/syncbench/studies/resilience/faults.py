"""The study's fault schedule: one network window per fault, then the storage fault.

One schedule, played by one Nemesis on the main stack. Generated from the params (a
window of `fault_seconds` after `lead_seconds` in each fault's segment, then the storage
fault after the last segment), or the `schedule` param as given (`--replay`).
"""

from __future__ import annotations

from typing import Any

from syncbench.nemesis import FaultSchedule, parse_schedule
from syncbench.profiles import load_profiles
from syncbench.studies.resilience.params import GROUP, SERVER, ResilienceParams

STORAGE = "storage"
GROUP_KINDS = frozenset({"network", "offline"})  # kinds that hit the clients' proxy


def study_schedule(params: ResilienceParams) -> list[dict[str, Any]]:
    """The windows the params imply, as schedule data (what the summary saves).

    A shipped profile is named; a custom one is given whole, so the saved schedule replays
    without knowing `custom_profiles`.
    """
    shipped = load_profiles()
    windows: list[dict[str, Any]] = []
    for index, name in enumerate(params.faults):
        profile: Any = name
        if name in params.custom_profiles or name not in shipped:
            profile = {"name": name, **params.custom_profiles[name]}
        windows.append({"at": round(index * params.segment_seconds + params.lead_seconds, 6),
                        "for": params.fault_seconds, "fault": "network", "target": GROUP,
                        "profile": profile})
    if params.protection_phase:
        network_end = len(params.faults) * params.segment_seconds
        windows.append({"at": round(network_end + params.lead_seconds, 6),
                        "for": params.storage_fault_seconds, "fault": STORAGE,
                        "target": SERVER, "error_rate": params.storage_error_rate,
                        "delay_ms": params.storage_delay_ms, "seed": params.seed})
    return windows


def schedule_to_play(params: ResilienceParams) -> FaultSchedule:
    """The `schedule` param when given, else the study's own."""
    return parse_schedule(params.schedule or study_schedule(params))


def tail_seconds(kind: str, params: ResilienceParams) -> float:
    """Clean time the clients keep working after a window of `kind` ends."""
    return params.storage_recover_seconds if kind == STORAGE else params.recover_seconds


def run_seconds(schedule: FaultSchedule, params: ResilienceParams) -> float:
    """How long the clients work: until the last window's end plus its recovery time."""
    return max((fault.end + tail_seconds(fault.kind, params) for fault in schedule),
               default=0.0)


__all__ = ["GROUP_KINDS", "STORAGE", "run_seconds", "schedule_to_play", "study_schedule",
           "tail_seconds"]
