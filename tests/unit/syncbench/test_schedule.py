"""Fault schedules: parsing, validation and the applied-windows frame (no server needed)."""

from __future__ import annotations

import pandas as pd
import pytest

from syncbench.profiles import get_profile, load_profiles
from syncbench.schedule import (
    AppliedWindow,
    FaultSchedule,
    ScheduleDriver,
    ScheduleError,
    applied_windows_frame,
    parse_schedule,
)
from syncbench.toxiproxy import ProxyHandle, ToxiproxyControl

PROFILES = load_profiles()


def test_windows_parse_in_start_order_with_profiles_resolved() -> None:
    schedule = parse_schedule([
        {"at": 2, "for": 0.5, "profile": "outage", "target": "api"},
        {"at": 0.5, "for": 1, "profile": "wan", "target": "api"},
        {"at": 0, "for": 3, "target": "ws",
         "toxic": {"type": "latency", "attributes": {"latency": 100}}},
    ], PROFILES)
    assert [(w.at, w.end, w.target, w.profile.name) for w in schedule.windows] == [
        (0.0, 3.0, "ws", "toxic-latency-downstream"),
        (0.5, 1.5, "api", "wan"),
        (2.0, 2.5, "api", "outage"),
    ]
    assert schedule.windows[1].profile == get_profile("wan")
    assert schedule.targets == {"api", "ws"}
    assert schedule.length == 3.0


def test_empty_schedule_is_allowed() -> None:
    assert parse_schedule(None, PROFILES) == FaultSchedule()
    assert parse_schedule([], PROFILES).length == 0.0


def test_windows_on_one_target_may_touch() -> None:
    schedule = parse_schedule([
        {"at": 0, "for": 1, "profile": "wan", "target": "api"},
        {"at": 1, "for": 1, "profile": "outage", "target": "api"},
    ], PROFILES)
    assert len(schedule.windows) == 2


def test_overlapping_windows_on_one_target_are_refused() -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule([
            {"at": 0, "for": 2, "profile": "wan", "target": "api"},
            {"at": 1.5, "for": 1, "profile": "outage", "target": "api"},
        ], PROFILES)
    message = str(caught.value)
    assert "window 1" in message and "overlaps window 0" in message and "'api'" in message


def test_overlapping_windows_on_different_targets_are_fine() -> None:
    schedule = parse_schedule([
        {"at": 0, "for": 2, "profile": "wan", "target": "api"},
        {"at": 1, "for": 2, "profile": "wan", "target": "ws"},
    ], PROFILES)
    assert len(schedule.windows) == 2


@pytest.mark.parametrize(("window", "field", "hint"), [
    ({"for": 1, "profile": "wan", "target": "api"}, "at", "missing"),
    ({"at": -1, "for": 1, "profile": "wan", "target": "api"}, "at", "0 or more"),
    ({"at": "soon", "for": 1, "profile": "wan", "target": "api"}, "at", "seconds"),
    ({"at": 0, "for": 0, "profile": "wan", "target": "api"}, "for", "greater than 0"),
    ({"at": 0, "for": float("inf"), "profile": "wan", "target": "api"}, "for", "seconds"),
    ({"at": 0, "for": 1, "profile": "wan"}, "target", "missing"),
    ({"at": 0, "for": 1, "profile": "wan", "target": ""}, "target", "proxy name"),
    ({"at": 0, "for": 1, "target": "api"}, "profile", "exactly one"),
    ({"at": 0, "for": 1, "target": "api", "profile": "wan", "toxic": {"type": "latency"}},
     "profile", "exactly one"),
    ({"at": 0, "for": 1, "target": "api", "profile": "satellite"}, "profile",
     "known profiles are"),
    ({"at": 0, "for": 1, "target": "api", "toxic": {"type": "latency", "stream": "x"}},
     "toxic.stream", "upstream or downstream"),
    ({"at": 0, "for": 1, "target": "api", "toxic": {"type": "latency",
                                                    "attributes": {"rate": 3}}},
     "toxic.attributes.rate", "latency, jitter"),
    ({"at": 0, "for": 1, "target": "api", "profile": "wan", "when": 3}, "when",
     "unknown field"),
])
def test_bad_window_is_refused_naming_window_and_field(window: dict, field: str,
                                                       hint: str) -> None:
    good = {"at": 0, "for": 1, "profile": "lan", "target": "other"}
    with pytest.raises(ScheduleError) as caught:
        parse_schedule([good, window], PROFILES)
    assert f"window 1, field {field}:" in str(caught.value)
    assert hint in str(caught.value)


def test_schedule_must_be_a_list() -> None:
    with pytest.raises(ScheduleError, match="list of windows"):
        parse_schedule({"at": 0}, PROFILES)  # type: ignore[arg-type]


def test_driver_refuses_a_target_without_a_proxy_before_starting() -> None:
    schedule = parse_schedule([{"at": 0, "for": 1, "profile": "wan", "target": "api"}],
                              PROFILES)
    proxies = {"ws": ProxyHandle("ws", "127.0.0.1:1", "127.0.0.1:2")}
    with pytest.raises(ScheduleError, match="no proxy named api; the proxies are ws"):
        ScheduleDriver(ToxiproxyControl("http://127.0.0.1:1"), schedule, proxies)


def test_applied_windows_become_a_frame_of_utc_times() -> None:
    frame = applied_windows_frame([
        AppliedWindow("api", "wan", 0.5, 1_700_000_000.25, 1_700_000_001.5),
        AppliedWindow("api", "outage", 2.0, 1_700_000_002.0, 1_700_000_002.5),
    ])
    assert list(frame.columns) == ["target", "profile", "start", "end"]
    assert frame["start"].iloc[0] == pd.Timestamp("2023-11-14 22:13:20.250", tz="UTC")
    assert (frame["end"] - frame["start"]).dt.total_seconds().tolist() == [1.25, 0.5]


def test_no_applied_windows_give_an_empty_frame_with_the_columns() -> None:
    frame = applied_windows_frame([])
    assert list(frame.columns) == ["target", "profile", "start", "end"] and frame.empty
