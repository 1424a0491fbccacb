"""Fault schedules as data: which fault, on which target, from when, for how long.

A schedule (in params YAML, in a summary, or generated from a seed) is a list of windows:

    - {at: 2.0, for: 1.5, fault: network, target: clients, profile: wan}
    - {at: 4.0, for: 0.5, fault: network, target: clients,
       toxic: {type: latency, attributes: {latency: 300}}}
    - {at: 5.0, for: 2.0, fault: storage, target: server, error_rate: 0.5}
    - {at: 1.0, for: 3.0, fault: offline, target: replica-1, phase: wan}

`fault` defaults to `network`; every other key but `at`, `for`, `target` and `phase` is an
option of the fault kind. Windows are half-open, [at, at + for), in seconds from the start
of their phase (a study with several phases, e.g. one stack per network profile, names the
phase; a window without one plays in every phase). Windows of one kind on one target may
touch but not overlap: one condition at a time, taken off before the next goes on.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncbench.nemesis.kinds import FaultError, fault_kind

_WINDOW_KEYS = ("at", "for", "fault", "target", "phase")
# Windows whose ends meet within this many seconds touch: at + for in floats is not exact
# (9.563 + 1.322 > 10.885), and schedules are written with at most 6 decimals.
_TOUCH = 1e-6


class ScheduleError(ValueError):
    """A schedule window is malformed; the message names the window and the field."""

    def __init__(self, window: int | None, field: str, reason: str) -> None:
        where = f"window {window}" if window is not None else "schedule"
        super().__init__(f"fault schedule, {where}, field {field}: {reason}")
        self.window = window
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Fault:
    """One planned window: `kind` on `target` from `at` for `duration` seconds."""

    at: float
    duration: float
    kind: str
    target: str
    options: Mapping[str, Any] = field(default_factory=dict)
    phase: str | None = None

    @property
    def end(self) -> float:
        return self.at + self.duration

    @property
    def label(self) -> str:
        return fault_kind(self.kind).label(self.options)

    def to_dict(self) -> dict[str, Any]:
        """The window as schedule data (what `parse_schedule` reads back)."""
        data: dict[str, Any] = {"at": round(self.at, 6), "for": round(self.duration, 6),
                                "fault": self.kind, "target": self.target, **self.options}
        if self.phase is not None:
            data["phase"] = self.phase
        return data


@dataclass(frozen=True)
class FaultSchedule:
    """Checked windows, in start order."""

    faults: tuple[Fault, ...] = ()

    def __len__(self) -> int:
        return len(self.faults)

    def __iter__(self) -> Any:
        return iter(self.faults)

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(fault.target for fault in self.faults)

    @property
    def length(self) -> float:
        """Seconds from the start until the last window ends."""
        return max((fault.end for fault in self.faults), default=0.0)

    def for_phase(self, phase: str | None) -> FaultSchedule:
        """The windows that play in `phase`: its own and those without a phase."""
        return FaultSchedule(tuple(f for f in self.faults if f.phase in (None, phase)))

    def to_list(self) -> list[dict[str, Any]]:
        return [fault.to_dict() for fault in self.faults]


def _seconds(raw: Mapping[str, Any], key: str, index: int, *, positive: bool) -> float:
    value = raw[key]
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or value < 0 or (positive and value == 0)
            or value > 86_400):
        bound = "greater than 0" if positive else "0 or more"
        raise ScheduleError(index, key, f"{value!r} is not a number of seconds {bound} "
                            "(at most a day)")
    return float(value)


def parse_window(raw: object, index: int = 0) -> Fault:
    """One checked window; ScheduleError names the window (its index) and the field."""
    if isinstance(raw, Fault):
        return raw
    if not isinstance(raw, Mapping):
        raise ScheduleError(index, "window", "expected a mapping with at, for, target, fault "
                            "and the fault's options")
    for key in ("at", "for", "target"):
        if key not in raw:
            raise ScheduleError(index, key, "missing")
    at = _seconds(raw, "at", index, positive=False)
    duration = _seconds(raw, "for", index, positive=True)
    target = raw["target"]
    if not isinstance(target, str) or not target:
        raise ScheduleError(index, "target", f"{target!r} is not a target name")
    kind_name = raw.get("fault", "network")
    phase = raw.get("phase")
    if phase is not None and not isinstance(phase, str):
        raise ScheduleError(index, "phase", f"{phase!r} is not a phase name")
    try:
        kind = fault_kind(str(kind_name))
        options = kind.options({k: v for k, v in raw.items() if k not in _WINDOW_KEYS})
    except FaultError as exc:
        raise ScheduleError(index, "fault", str(exc)) from None
    return Fault(at=at, duration=duration, kind=kind.name, target=target, options=options,
                 phase=phase)


def parse_schedule(raw: Sequence[object] | FaultSchedule | None) -> FaultSchedule:
    """A checked FaultSchedule from schedule data; overlaps of one kind on one target refused."""
    if raw is None:
        return FaultSchedule()
    if isinstance(raw, FaultSchedule):
        return raw
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence):
        raise ScheduleError(None, "windows", "expected a list of windows")
    faults = [parse_window(item, index) for index, item in enumerate(raw)]
    _refuse_overlaps(faults)
    return FaultSchedule(tuple(sorted(faults, key=lambda f: (f.at, f.target, f.kind))))


def _refuse_overlaps(faults: Sequence[Fault]) -> None:
    """ScheduleError for two windows of one kind on one target that overlap in a phase.

    Each phase plays its own windows and those without a phase, so every phase (and the
    phase-less windows alone) is checked as the nemesis of that phase would play it.
    """
    views: list[str | None] = [None, *sorted({f.phase for f in faults if f.phase is not None})]
    for view in views:
        lanes: dict[tuple[str, str], list[int]] = {}
        for index, fault in enumerate(faults):
            if fault.phase in (None, view):
                lanes.setdefault((fault.kind, fault.target), []).append(index)
        for indexes in lanes.values():
            indexes.sort(key=lambda i: faults[i].at)
            for before, after in zip(indexes, indexes[1:], strict=False):
                first, second = faults[before], faults[after]
                if second.at < first.end - _TOUCH:
                    raise ScheduleError(
                        after, "at", f"window {after} ({second.label} at {second.at:g}s) "
                        f"overlaps window {before} ({first.label}, {first.at:g}s to "
                        f"{first.end:g}s) on target {first.target!r}; windows of one kind on "
                        "one target may touch but not overlap")


@dataclass(frozen=True)
class FaultChoice:
    """One fault a generated schedule may pick: kind, options, the targets it may hit."""

    kind: str
    targets: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    weight: float = 1.0


def generate_schedule(seed: int, choices: Sequence[FaultChoice], *, span_s: float,
                      count: int, min_s: float = 0.2, max_s: float = 2.0,
                      phase: str | None = None) -> FaultSchedule:
    """`count` windows drawn from `choices` with `random.Random(seed)`, within [0, span_s).

    Windows of one kind on one target never overlap (a drawn one that would is moved after
    the other). The same seed and arguments always give the same schedule.
    """
    if count < 0 or span_s <= 0 or not 0 < min_s <= max_s:
        raise ValueError("generate_schedule: need count >= 0, span_s > 0, 0 < min_s <= max_s")
    if count and not choices:
        raise ValueError("generate_schedule: no fault choices to draw from")
    rng = random.Random(seed)
    busy: dict[tuple[str, str], float] = {}
    faults: list[Fault] = []
    weights = [choice.weight for choice in choices]
    for _ in range(count):
        choice = rng.choices(choices, weights)[0]
        target = rng.choice(choice.targets)
        duration = round(rng.uniform(min_s, max_s), 3)
        at = max(round(rng.uniform(0.0, span_s), 3), round(busy.get((choice.kind, target), 0.0), 3))
        busy[(choice.kind, target)] = at + duration
        faults.append(parse_window({"at": at, "for": duration, "fault": choice.kind,
                                    "target": target, **choice.options,
                                    **({"phase": phase} if phase else {})}))
    return parse_schedule(faults)


__all__ = ["Fault", "FaultChoice", "FaultSchedule", "ScheduleError", "generate_schedule",
           "parse_schedule", "parse_window"]
