"""Fault schedules as data: parsing, refusals that name the window and field, overlaps,
and schedules generated from a seed (no server needed)."""

from __future__ import annotations

import pytest

from syncbench.nemesis import (
    FaultChoice,
    FaultSchedule,
    ScheduleError,
    generate_schedule,
    parse_schedule,
)


def test_windows_parse_in_start_order_with_their_kind_and_label() -> None:
    schedule = parse_schedule([
        {"at": 2, "for": 0.5, "profile": "outage", "target": "api"},
        {"at": 0.5, "for": 1, "profile": "wan", "target": "api"},
        {"at": 0, "for": 3, "target": "ws",
         "toxic": {"type": "latency", "attributes": {"latency": 100}}},
        {"at": 1, "for": 2, "fault": "storage", "target": "server", "error_rate": 0.5},
    ])
    assert [(f.at, f.end, f.kind, f.target, f.label) for f in schedule] == [
        (0.0, 3.0, "network", "ws", "toxic-latency-downstream"),
        (0.5, 1.5, "network", "api", "wan"),
        (1.0, 3.0, "storage", "server", "storage 50% errors"),
        (2.0, 2.5, "network", "api", "outage"),
    ]
    assert schedule.targets == {"api", "ws", "server"}
    assert schedule.length == 3.0


def test_a_schedule_reads_back_what_to_list_wrote() -> None:
    raw = [{"at": 0.5, "for": 1.0, "fault": "network", "target": "api", "profile": "wan"},
           {"at": 1.0, "for": 0.25, "fault": "offline", "target": "api", "phase": "lan"},
           {"at": 2.0, "for": 1.0, "fault": "storage", "target": "server",
            "error_rate": 0.0, "delay_ms": 50.0, "seed": 3}]
    schedule = parse_schedule(raw)
    assert schedule.to_list() == raw
    assert parse_schedule(schedule.to_list()) == schedule


def test_a_profile_given_whole_parses_under_its_own_name() -> None:
    profile = {"name": "cut", "toxics": [{"type": "limit_data", "stream": "downstream",
                                          "attributes": {"bytes": 64}}]}
    (fault,) = parse_schedule([{"at": 0, "for": 1, "target": "api", "profile": profile}])
    assert fault.label == "cut"


def test_empty_schedule_is_allowed() -> None:
    assert parse_schedule(None) == FaultSchedule()
    assert parse_schedule([]).length == 0.0


def test_windows_on_one_target_may_touch() -> None:
    schedule = parse_schedule([
        {"at": 0, "for": 1, "profile": "wan", "target": "api"},
        {"at": 1, "for": 1, "profile": "outage", "target": "api"},
    ])
    assert len(schedule) == 2


def test_overlapping_windows_of_one_kind_on_one_target_are_refused() -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule([
            {"at": 0, "for": 2, "profile": "wan", "target": "api"},
            {"at": 1.5, "for": 1, "profile": "outage", "target": "api"},
        ])
    message = str(caught.value)
    assert "window 1" in message and "overlaps window 0" in message and "'api'" in message


def test_overlaps_across_targets_kinds_or_phases_are_fine() -> None:
    ok = parse_schedule([
        {"at": 0, "for": 2, "profile": "wan", "target": "api"},
        {"at": 1, "for": 2, "profile": "wan", "target": "ws"},
        {"at": 1, "for": 2, "fault": "offline", "target": "api"},
        {"at": 0, "for": 2, "profile": "wan", "target": "db", "phase": "one"},
        {"at": 0, "for": 2, "profile": "lan", "target": "db", "phase": "two"},
    ])
    assert len(ok) == 5


def test_a_phase_less_window_overlaps_the_windows_of_every_phase() -> None:
    with pytest.raises(ScheduleError, match="overlaps"):
        parse_schedule([
            {"at": 0, "for": 10, "profile": "wan", "target": "api"},
            {"at": 5, "for": 1, "profile": "lan", "target": "api", "phase": "x"},
        ])


def test_a_window_of_one_phase_does_not_overlap_a_later_phase_less_one() -> None:
    # sorted by phase first, these three once compared the phase's window with the last
    schedule = parse_schedule([
        {"at": 0, "for": 1, "profile": "wan", "target": "api"},
        {"at": 20, "for": 1, "profile": "wan", "target": "api"},
        {"at": 5, "for": 1, "profile": "lan", "target": "api", "phase": "x"},
    ])
    assert [f.at for f in schedule] == [0.0, 5.0, 20.0]


@pytest.mark.parametrize(("window", "field", "hint"), [
    ({"for": 1, "profile": "wan", "target": "api"}, "at", "missing"),
    ({"at": -1, "for": 1, "profile": "wan", "target": "api"}, "at", "0 or more"),
    ({"at": "soon", "for": 1, "profile": "wan", "target": "api"}, "at", "seconds"),
    ({"at": True, "for": 1, "profile": "wan", "target": "api"}, "at", "seconds"),
    ({"at": 0, "for": 0, "profile": "wan", "target": "api"}, "for", "greater than 0"),
    ({"at": 0, "for": float("inf"), "profile": "wan", "target": "api"}, "for", "seconds"),
    ({"at": 0, "for": 1, "profile": "wan"}, "target", "missing"),
    ({"at": 0, "for": 1, "profile": "wan", "target": ""}, "target", "target name"),
    ({"at": 0, "for": 1, "profile": "wan", "target": "api", "phase": 3}, "phase", "phase name"),
    ({"at": 0, "for": 1, "target": "api"}, "fault", "exactly one"),
    ({"at": 0, "for": 1, "target": "api", "profile": "wan", "toxic": {"type": "latency"}},
     "fault", "exactly one"),
    ({"at": 0, "for": 1, "target": "api", "profile": "satellite"}, "fault", "satellite"),
    ({"at": 0, "for": 1, "target": "api", "profile": {"toxics": []}}, "fault", "name"),
    ({"at": 0, "for": 1, "target": "api", "toxic": {"type": "latency", "stream": "x"}},
     "fault", "upstream or downstream"),
    ({"at": 0, "for": 1, "target": "api", "toxic": {"type": "latency",
                                                    "attributes": {"rate": 3}}},
     "fault", "toxic.attributes.rate"),
    ({"at": 0, "for": 1, "target": "api", "profile": "wan", "when": 3}, "fault",
     "unknown option 'when'"),
    ({"at": 0, "for": 1, "target": "api", "fault": "meteor"}, "fault", "unknown fault kind"),
    ({"at": 0, "for": 1, "target": "server", "fault": "storage"}, "fault", "error_rate > 0"),
    ({"at": 0, "for": 1, "target": "server", "fault": "storage", "error_rate": 2},
     "fault", "0..1"),
    ({"at": 0, "for": 1, "target": "server", "fault": "storage", "delay_ms": 5,
      "seed": 1.5}, "fault", "seed must be an integer"),
    ({"at": 0, "for": 1, "target": "api", "fault": "offline", "profile": "wan"}, "fault",
     "options: none"),
])
def test_bad_window_is_refused_naming_window_and_field(window: dict, field: str,
                                                       hint: str) -> None:
    good = {"at": 0, "for": 1, "profile": "lan", "target": "other"}
    with pytest.raises(ScheduleError) as caught:
        parse_schedule([good, window])
    assert f"window 1, field {field}:" in str(caught.value)
    assert hint in str(caught.value)


def test_schedule_must_be_a_list() -> None:
    with pytest.raises(ScheduleError, match="list of windows"):
        parse_schedule({"at": 0})  # type: ignore[arg-type]
    with pytest.raises(ScheduleError, match="expected a mapping"):
        parse_schedule(["wan"])


# -- generated from a seed -------------------------------------------------------------------

CHOICES = [FaultChoice("network", ("a", "b"), {"profile": "wan"}),
           FaultChoice("offline", ("a",), weight=2.0),
           FaultChoice("storage", ("server",), {"error_rate": 0.5})]


def test_the_same_seed_generates_the_same_schedule() -> None:
    first = generate_schedule(11, CHOICES, span_s=10, count=12)
    assert first == generate_schedule(11, CHOICES, span_s=10, count=12)
    assert first.to_list() != generate_schedule(12, CHOICES, span_s=10, count=12).to_list()
    assert len(first) == 12


def test_generated_windows_never_overlap_on_a_lane_and_keep_their_bounds() -> None:
    schedule = generate_schedule(3, CHOICES, span_s=5, count=40, min_s=0.5, max_s=1.0,
                                 phase="p")
    assert parse_schedule(schedule.to_list()) == schedule  # passes the overlap check
    assert all(0.5 <= f.duration <= 1.0 and f.phase == "p" for f in schedule)
    assert {f.kind for f in schedule} == {"network", "offline", "storage"}


def test_generate_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(ValueError, match="no fault choices"):
        generate_schedule(1, [], span_s=1, count=1)
    with pytest.raises(ValueError, match="min_s <= max_s"):
        generate_schedule(1, CHOICES, span_s=1, count=1, min_s=2, max_s=1)
    assert len(generate_schedule(1, [], span_s=1, count=0)) == 0
