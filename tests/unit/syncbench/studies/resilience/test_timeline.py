"""Segments from the fault windows in the history, and each operation's period in them."""

from __future__ import annotations

import math

import pandas as pd

from syncbench.studies.resilience.timeline import (
    AFTER,
    BEFORE,
    DURING,
    PROTECTION_PHASE,
    RECOVERED,
    Segment,
    faults_met_by_requests,
    label,
    period_of,
    segments_from_windows,
)


def windows(*rows: tuple[str, str, float, float]) -> pd.DataFrame:
    return pd.DataFrame([{"fault": kind, "profile": name,
                          "start": pd.Timestamp(start, unit="s", tz="UTC"),
                          "end": pd.Timestamp(end, unit="s", tz="UTC")}
                         for kind, name, start, end in rows])


def test_period_of_places_a_time_around_the_fault_window() -> None:
    segment = Segment("wan", 0.0, fault_start=2.0, fault_end=5.0)
    assert [period_of(t, segment, grace=1.0) for t in (1.0, 2.0, 4.9, 5.5, 6.0)] == [
        BEFORE, DURING, DURING, AFTER, RECOVERED]
    assert period_of(1.0, Segment("rate", 0.0), grace=1.0) == DURING


def test_label_assigns_each_row_to_the_segment_it_falls_in() -> None:
    segments = [Segment("a", -math.inf, 2.0, 5.0), Segment("b", 10.0, 12.0, 15.0)]
    frame = label(pd.DataFrame({"t": [1.0, 3.0, 11.0, 19.0]}), "t", segments, grace=0.5)
    assert frame["phase"].tolist() == ["a", "a", "b", "b"]
    assert frame["period"].tolist() == [BEFORE, DURING, BEFORE, RECOVERED]


def test_segments_start_a_lead_before_their_window_and_storage_is_the_protection_phase() -> None:
    segments = segments_from_windows(windows(
        ("network", "outage", 104.5, 106.5), ("network", "wan", 100.5, 102.5),
        ("storage", "storage 100% errors", 108.5, 111.0)), lead_seconds=0.5)
    assert [(s.phase, s.start, s.fault_start, s.fault_end) for s in segments] == [
        ("wan", -math.inf, 100.5, 102.5), ("outage", 104.0, 104.5, 106.5),
        (PROTECTION_PHASE, 108.0, 108.5, 111.0)]


def test_a_segment_never_starts_before_the_previous_window_ended() -> None:
    segments = segments_from_windows(windows(
        ("network", "wan", 0.0, 2.0), ("network", "outage", 2.2, 3.0)), lead_seconds=1.0)
    assert segments[1].start == 2.0


def test_a_fault_played_twice_gets_a_numbered_phase() -> None:
    segments = segments_from_windows(windows(
        ("network", "wan", 0.0, 1.0), ("network", "wan", 5.0, 6.0)), lead_seconds=0.5)
    assert [s.phase for s in segments] == ["wan", "wan #2"]


def test_no_windows_label_every_row_with_no_phase() -> None:
    frame = label(pd.DataFrame({"t": [1.0]}), "t", [], grace=0.5)
    assert frame["phase"].tolist() == [""] and frame["period"].tolist() == [DURING]


def test_a_fault_is_met_by_a_request_in_flight_across_its_window() -> None:
    segments = [Segment("outage", 0.0, 10.0, 12.0), Segment("wan", 20.0, 30.0, 32.0),
                Segment("rate-limit", 40.0)]
    frame = pd.DataFrame({"invoke_time": [9.0, 25.0, 33.0, 28.0],
                          "complete_time": [13.0, 26.0, 34.0, float("nan")]})
    # outage: invoked before, completed after; wan: still pending when the window began
    assert faults_met_by_requests(frame, segments) == {"outage", "wan"}
    assert faults_met_by_requests(frame.iloc[[1, 2]], segments) == set()
