"""The crash study's schedule: from the seed, every kind asked for, one server fault at a
time, partitions on clients still working, and a given schedule played as given."""

from __future__ import annotations

import pytest

from syncbench.nemesis import fault_kind
from syncbench.studies.crash import CRASH_FAULTS, CrashParams, crash_schedule
from syncbench.studies.crash.schedule import CLI_COMMAND_S, plan_crash, planned_ends
from syncbench.study import StudyParamError


def ops(*clients_and_pauses: tuple[str, float]) -> list[dict]:
    return [{"step": index, "client": client, "op": "noop", "kind": "noop", "pause": pause}
            for index, (client, pause) in enumerate(clients_and_pauses)]


WORKLOAD = ops(*[(f"c{i % 3}", 0.5) for i in range(90)], *[("k0", 1.0)] * 10)


def test_every_kind_plays_once_in_a_seeded_order_and_the_seed_repeats_it() -> None:
    params = CrashParams(fault_windows=len(CRASH_FAULTS))
    schedule = crash_schedule(params, WORKLOAD)
    drawn = {(("lost_replies" if w.options.get("direction") == "replies" else w.kind), w.at)
             for w in schedule}  # a partition is one window per client group, at one time
    assert sorted(choice for choice, _ in drawn) == sorted(CRASH_FAULTS)
    assert crash_schedule(params, WORKLOAD) == schedule
    assert crash_schedule(params.replace(seed=2), WORKLOAD) != schedule


def test_windows_follow_one_another_and_stay_within_the_workload() -> None:
    schedule = crash_schedule(CrashParams(fault_windows=16), WORKLOAD)
    faults = list(schedule)
    starts = sorted({fault.at for fault in faults})
    assert len(starts) == 16
    for before, after in zip(starts, starts[1:], strict=False):
        # one fault at a time (a partition's windows together): recovery times stay apart
        assert after >= max(f.end for f in faults if f.at == before)
    assert faults[0].at >= 0.1 * 15 - 1e-6  # the longest client plans 15 s of pauses


def test_partitions_cut_the_working_http_clients_together() -> None:
    schedule = crash_schedule(CrashParams(fault_windows=40), WORKLOAD)
    partitions: dict[float, set[str]] = {}
    for window in schedule:
        target_kind = fault_kind(window.kind).target_kind
        if window.kind == "partition":
            assert window.duration >= 1.5
            partitions.setdefault(window.at, set()).add(window.target)
        elif window.kind == "client_crash":
            assert window.target in {"k0", "k1"} and 0.25 <= window.options["after_s"] <= 0.45
        else:
            assert target_kind == "server"
    # every HTTP client plans 15 s of work: each partition before that cuts all three
    early = [targets for at, targets in partitions.items() if at < 10]
    assert early and all(targets == {"client-0", "client-1", "client-2"} for targets in early)


def test_switched_off_kinds_are_never_drawn() -> None:
    schedule = crash_schedule(CrashParams(faults=["pause", "storage"], fault_windows=10),
                              WORKLOAD)
    assert {w.kind for w in schedule} == {"pause", "storage"}
    assert not crash_schedule(CrashParams(faults=[]), WORKLOAD)


def test_a_given_schedule_plays_as_given() -> None:
    given = [{"at": 1.0, "for": 0.5, "fault": "crash", "target": "server"}]
    assert crash_schedule(CrashParams(schedule=given), WORKLOAD).to_list() == given


@pytest.mark.parametrize(("values", "name"), [
    ({"faults": ["meteor"]}, "faults"),
    ({"faults": ["crash", "crash"]}, "faults"),
    ({"faults": ["client_crash"], "cli_replicas": 0}, "faults"),
    ({"fault_max_s": 0.1}, "fault_max_s"),
    ({"workload": "nominal"}, "workload"),
])
def test_bad_parameters_name_themselves(values: dict, name: str) -> None:
    with pytest.raises(StudyParamError) as caught:
        CrashParams(**values)
    assert caught.value.name == name


def test_a_workload_shorter_than_its_schedule_is_paced_to_outlast_it() -> None:
    # three HTTP clients with 1 s of planned work each, a subscriber, a CLI replica; eight
    # windows of at least 1 s (clocks at least 2.5 s) cannot fit in that
    short = ops(*[(f"c{i % 3}", 0.1) for i in range(30)], *[("s0", 0.2)] * 5,
                *[("k0", 0.1)] * 5)
    params = CrashParams(faults=["pause", "clock"], fault_windows=8)
    assert crash_schedule(params, [dict(op) for op in short]).length > 10
    paced = [dict(op) for op in short]
    schedule = plan_crash(params, paced)
    assert schedule == crash_schedule(params, [dict(op) for op in short])  # drawn as before
    ends = planned_ends(paced)
    for client in ("c0", "c1", "c2", "s0"):  # every client works until the last window ends
        assert ends[client] == pytest.approx(schedule.length / 0.9, rel=1e-3)
    # a CLI replica's commands count CLI_COMMAND_S each: its pauses fill the rest
    assert ends["k0"] + 5 * CLI_COMMAND_S == pytest.approx(schedule.length / 0.9, rel=1e-3)
    # a replay's operations are played as recorded
    replay = params.replace(operations=short, schedule=schedule.to_list())
    plan_crash(replay, given := [dict(op) for op in short])
    assert given == short
