"""The study's fault schedule: one schedule for network windows and the storage fault."""

from __future__ import annotations

import pytest

from syncbench.nemesis import parse_schedule
from syncbench.studies.resilience import ResilienceParams
from syncbench.studies.resilience.faults import run_seconds, schedule_to_play, study_schedule


def test_each_fault_gets_a_window_in_its_segment_then_the_storage_fault() -> None:
    params = ResilienceParams(faults=("wan", "outage"), lead_seconds=0.5, fault_seconds=2.0,
                              recover_seconds=1.5, storage_fault_seconds=2.5,
                              storage_error_rate=0.5, storage_delay_ms=20.0, seed=7)
    windows = study_schedule(params)
    assert [(w["at"], w["for"], w["fault"], w["target"]) for w in windows] == [
        (0.5, 2.0, "network", "clients"), (4.5, 2.0, "network", "clients"),
        (8.5, 2.5, "storage", "server")]
    assert [w.get("profile") for w in windows[:2]] == ["wan", "outage"]
    assert windows[2] | {} == {"at": 8.5, "for": 2.5, "fault": "storage", "target": "server",
                               "error_rate": 0.5, "delay_ms": 20.0, "seed": 7}
    # the clients keep working through the storage fault's recovery time
    assert run_seconds(parse_schedule(windows), params) == pytest.approx(8.5 + 2.5 + 3.0)


def test_a_custom_profile_travels_whole_in_the_schedule() -> None:
    windows = study_schedule(ResilienceParams(faults=("cut-responses",),
                                              protection_phase=False))
    profile = windows[0]["profile"]
    assert profile["name"] == "cut-responses"
    assert profile["toxics"][0]["type"] == "limit_data"
    # so it parses (and replays) without knowing custom_profiles
    assert parse_schedule(windows).faults[0].label == "cut-responses"


def test_without_the_protection_phase_there_is_no_storage_window() -> None:
    windows = study_schedule(ResilienceParams(faults=("wan",), protection_phase=False))
    assert [w["fault"] for w in windows] == ["network"]


def test_the_same_params_give_the_same_schedule() -> None:
    assert study_schedule(ResilienceParams()) == study_schedule(ResilienceParams())
    assert schedule_to_play(ResilienceParams()).to_list() == \
        parse_schedule(study_schedule(ResilienceParams())).to_list()


def test_a_given_schedule_replaces_the_studys_own() -> None:
    given = [{"at": 0.2, "for": 0.4, "fault": "offline", "target": "clients"},
             {"at": 1.0, "for": 0.5, "fault": "storage", "target": "server",
              "error_rate": 1.0}]
    played = schedule_to_play(ResilienceParams(schedule=given))
    assert [(f.kind, f.at, f.duration) for f in played] == [
        ("offline", 0.2, 0.4), ("storage", 1.0, 0.5)]
