"""Fault schedules: when each network condition starts and stops on which proxy, and the
driver that plays one against a real Toxiproxy and records what it actually did.

A schedule in params YAML is a list of windows:

    - {at: 2.0, for: 1.5, profile: wan, target: tasksync}
    - {at: 5.0, for: 0.5, target: tasksync,
       toxic: {type: latency, attributes: {latency: 300}}}

Windows are half-open, [at, at + for), in seconds from the run's start. Windows on the same
target may touch but not overlap: one proxy is in one condition at a time, so the driver
takes a window off before it puts the next one on.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd

from syncbench.profiles import (
    AppliedProfile,
    NetworkProfile,
    UnknownProfile,
    apply_profile,
    load_profiles,
    parse_toxic,
    remove_profile,
)
from syncbench.toxiproxy import InvalidToxicSpec, ProxyHandle, ToxiproxyControl

_WINDOW_FIELDS = ("at", "for", "profile", "toxic", "target")

T = TypeVar("T")


class ScheduleError(ValueError):
    """A schedule window is malformed; the message names the window and the field."""

    def __init__(self, window: int | None, field: str, reason: str) -> None:
        where = f"window {window}" if window is not None else "schedule"
        super().__init__(f"fault schedule, {where}, field {field}: {reason}")
        self.window = window
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class FaultWindow:
    """One profile on one proxy for `duration` seconds from `at` seconds after the start."""

    at: float
    duration: float
    target: str
    profile: NetworkProfile

    @property
    def end(self) -> float:
        return self.at + self.duration


@dataclass(frozen=True)
class FaultSchedule:
    """Checked windows, in start order."""

    windows: tuple[FaultWindow, ...] = ()

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(window.target for window in self.windows)

    @property
    def length(self) -> float:
        """Seconds from the start until the last window ends."""
        return max((window.end for window in self.windows), default=0.0)


@dataclass(frozen=True)
class AppliedWindow:
    """A window as it happened. `started` is the wall-clock time (time.time()) at which the
    whole profile was in effect; `ended` the time at which it was fully taken off."""

    target: str
    profile: str
    planned_at: float
    started: float
    ended: float


def _seconds(raw: Mapping[str, Any], key: str, index: int, *, positive: bool) -> float:
    value = raw[key]
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or value < 0 or (positive and value == 0)):
        bound = "greater than 0" if positive else "0 or more"
        raise ScheduleError(index, key, f"{value!r} is not a number of seconds {bound}")
    return float(value)


def _inline_profile(raw: object, index: int) -> NetworkProfile:
    try:
        spec = parse_toxic(raw)
    except InvalidToxicSpec as exc:
        raise ScheduleError(index, f"toxic.{exc.field}", exc.reason) from None
    # A window has one condition at a time on its target, so this name is unique there.
    return NetworkProfile(name=f"toxic-{spec.type}-{spec.stream}", toxics=(spec,),
                          description=f"{spec.type} on {spec.stream}: {dict(spec.attributes)}")


def parse_window(raw: object, index: int,
                 profiles: Mapping[str, NetworkProfile]) -> FaultWindow:
    """One checked window; ScheduleError names the window (its index) and the field."""
    if not isinstance(raw, Mapping):
        raise ScheduleError(index, "window", "expected a mapping with at, for, target and "
                            "profile or toxic")
    for key in raw:
        if key not in _WINDOW_FIELDS:
            raise ScheduleError(index, str(key),
                                f"unknown field; a window has {', '.join(_WINDOW_FIELDS)}")
    for key in ("at", "for", "target"):
        if key not in raw:
            raise ScheduleError(index, key, "missing")
    at = _seconds(raw, "at", index, positive=False)
    duration = _seconds(raw, "for", index, positive=True)
    target = raw["target"]
    if not isinstance(target, str) or not target:
        raise ScheduleError(index, "target", f"{target!r} is not a proxy name")
    if ("profile" in raw) == ("toxic" in raw):
        raise ScheduleError(index, "profile", "give exactly one of `profile: <name>` "
                            "or `toxic: {...}`")
    if "toxic" in raw:
        profile = _inline_profile(raw["toxic"], index)
    elif (name := raw["profile"]) in profiles:
        profile = profiles[name]
    else:
        raise ScheduleError(index, "profile", str(UnknownProfile(str(name), profiles)))
    return FaultWindow(at=at, duration=duration, target=target, profile=profile)


def parse_schedule(raw: Sequence[object] | None,
                   profiles: Mapping[str, NetworkProfile] | None = None) -> FaultSchedule:
    """A checked FaultSchedule from YAML data (profiles default to params/profiles.yaml).

    Overlapping windows on one target are refused: which condition would hold is unclear.
    """
    if raw is None:
        return FaultSchedule()
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence):
        raise ScheduleError(None, "windows", "expected a list of windows")
    profiles = load_profiles() if profiles is None else profiles
    windows = [parse_window(item, index, profiles) for index, item in enumerate(raw)]
    order = sorted(range(len(windows)), key=lambda i: (windows[i].target, windows[i].at))
    for before, after in zip(order, order[1:], strict=False):
        first, second = windows[before], windows[after]
        if first.target == second.target and second.at < first.end:
            raise ScheduleError(after, "at", f"window {after} ({second.profile.name} at "
                                f"{second.at:g}s) overlaps window {before} "
                                f"({first.profile.name}, {first.at:g}s to {first.end:g}s) on "
                                f"target {first.target!r}; windows on one target may touch "
                                "but not overlap")
    return FaultSchedule(tuple(sorted(windows, key=lambda w: (w.at, w.target))))


async def _in_thread_to_the_end(func: Callable[..., T], *args: Any) -> tuple[T, bool]:
    """func(*args) in a thread, waited for even if this task is cancelled meanwhile.

    A toxic that lands just after a cancel must still be known, or it can't be taken off.
    Returns the result and whether a cancel arrived; the caller re-raises it when done.
    """
    future = asyncio.ensure_future(asyncio.to_thread(func, *args))
    cancelled = False
    while True:
        try:
            return await asyncio.shield(future), cancelled
        except asyncio.CancelledError:
            cancelled = True


class ScheduleDriver:
    """Plays a FaultSchedule against proxies on one Toxiproxy server and records it.

    `await driver.run()` plays it to the end; `async with driver:` plays it in the
    background and, on leaving the block, cancels what is left. Either way, cancelling takes
    off whatever is active and records its end.
    """

    def __init__(self, control: ToxiproxyControl, schedule: FaultSchedule,
                 proxies: Mapping[str, ProxyHandle]) -> None:
        missing = sorted(schedule.targets - proxies.keys())
        if missing:
            raise ScheduleError(None, "target", f"no proxy named {', '.join(missing)}; the "
                                f"proxies are {', '.join(sorted(proxies)) or 'none'}")
        self._control = control
        self._schedule = schedule
        self._proxies = dict(proxies)
        self._applied: list[AppliedWindow] = []
        self._active: dict[str, FaultWindow] = {}
        self._task: asyncio.Task[list[AppliedWindow]] | None = None
        self._ran = False
        self.started_at: float | None = None

    @property
    def applied(self) -> tuple[AppliedWindow, ...]:
        """Windows that were applied and have ended, in the order they ended."""
        return tuple(self._applied)

    @property
    def active(self) -> dict[str, FaultWindow]:
        """Windows in effect now, by target."""
        return dict(self._active)

    async def run(self) -> list[AppliedWindow]:
        """Play the whole schedule; returns the applied windows."""
        if self._ran:
            raise RuntimeError("a ScheduleDriver plays its schedule once; make a new one")
        self._ran = True
        loop = asyncio.get_running_loop()
        origin = loop.time()  # the loop's clock is monotonic: wall-clock jumps can't skew it
        self.started_at = time.time()
        by_target: dict[str, list[FaultWindow]] = {}
        for window in self._schedule.windows:
            by_target.setdefault(window.target, []).append(window)
        try:
            async with asyncio.TaskGroup() as group:
                for windows in by_target.values():
                    group.create_task(self._run_target(windows, origin))
        except BaseExceptionGroup as failures:
            raise failures.exceptions[0] from failures
        return list(self._applied)

    async def _run_target(self, windows: list[FaultWindow], origin: float) -> None:
        # One task per target plays its windows in turn, so a window is off before the next on.
        for window in windows:
            await _sleep_until(origin + window.at)
            await self._run_window(window, origin)

    async def _run_window(self, window: FaultWindow, origin: float) -> None:
        proxy = self._proxies[window.target]
        applied: AppliedProfile
        applied, cancelled = await _in_thread_to_the_end(
            apply_profile, self._control, proxy, window.profile)
        started = time.time()
        self._active[window.target] = window
        late = False
        try:
            if not cancelled:
                try:
                    await _sleep_until(origin + window.end)
                except asyncio.CancelledError:
                    cancelled = True
            _, late = await _in_thread_to_the_end(remove_profile, self._control, applied)
        finally:
            # Recorded even if taking it off failed: the error says so, the record says when.
            del self._active[window.target]
            self._applied.append(AppliedWindow(window.target, window.profile.name, window.at,
                                               started, time.time()))
        if cancelled or late:
            raise asyncio.CancelledError

    async def __aenter__(self) -> ScheduleDriver:
        self._task = asyncio.create_task(self.run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def wait(self, timeout: float) -> list[AppliedWindow]:
        """Wait for a background run (`async with`) to finish; TimeoutError after `timeout`."""
        if self._task is None:
            raise RuntimeError("nothing runs in the background; use `async with driver:`")
        async with asyncio.timeout(timeout):
            return await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Cancel a background run, take off what is active, and wait until that is done."""
        task, self._task = self._task, None
        if task is None:
            return
        if not task.done():
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            # Ours if the task was cancelled by stop(); a cancel aimed at us must go on.
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - asyncio.get_running_loop().time()))


def applied_windows_frame(windows: Iterable[AppliedWindow]) -> pd.DataFrame:
    """One row per applied window (target, profile, start, end as UTC datetimes), for
    shading fault windows on time-series charts."""
    rows = [(w.target, w.profile, w.started, w.ended) for w in windows]
    frame = pd.DataFrame(rows, columns=["target", "profile", "start", "end"])
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column].astype("float64"), unit="s", utc=True)
    return frame


__all__ = [
    "AppliedWindow", "FaultSchedule", "FaultWindow", "ScheduleDriver", "ScheduleError",
    "applied_windows_frame", "parse_schedule", "parse_window",
]
