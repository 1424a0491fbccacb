"""The study's checks pass on good frames and fail, with counterexamples, on bad ones."""

from __future__ import annotations

import time

import pandas as pd

from syncbench.history import History
from syncbench.nemesis import PROCESS, fault_windows
from syncbench.studies.performance import (
    all_operations_succeeded,
    batch_target_met,
    creation_target_met,
    measured_under_profile,
    no_regression_vs_baseline,
)
from tests.unit.syncbench.studies.performance.frames import batch_frame, creation_frame


def test_creation_target_passes_fast_and_fails_slow() -> None:
    fast = creation_target_met(creation_frame([4.0, 5.0, 6.0], [1, 1, 1]), profile="lan",
                               workers=10, tasks=1000, seconds=30)
    assert fast.passed and "5.00 s" in fast.observed
    slow = creation_target_met(creation_frame([31.0, 35.0, 29.0], [1, 1, 1]), profile="lan",
                               workers=10, tasks=1000, seconds=30)
    assert not slow.passed and slow.verdict == "fail"
    assert [row["elapsed_s"] for row in slow.counterexample] == [31.0, 35.0, 29.0]


def test_creation_target_scales_a_smaller_run_by_throughput() -> None:
    # 100 tasks in 4 s is 25 creates/s: 1000 would take 40 s
    result = creation_target_met(creation_frame([4.0], [1.0], requested=100), profile="lan",
                                 workers=10, tasks=1000, seconds=30)
    assert not result.passed and "scaled from 100" in result.observed


def test_creation_target_fails_when_creates_failed_or_not_measured() -> None:
    failing = creation_target_met(creation_frame([1.0], [1.0], failed=3), profile="lan",
                                  workers=10, tasks=1000, seconds=30)
    assert not failing.passed and "3 creates failed" in failing.message
    missing = creation_target_met(creation_frame([1.0], [1.0]), profile="lan", workers=5,
                                  tasks=1000, seconds=30)
    assert not missing.passed and missing.observed == "not measured"
    nothing = creation_target_met(pd.DataFrame(), profile="lan", workers=5, tasks=1, seconds=1)
    assert not nothing.passed and nothing.observed == "not measured"


def test_batch_target_passes_fast_and_fails_slow() -> None:
    assert batch_target_met(batch_frame({1000: [0.5, 0.6, 0.7]}), profile="lan", size=1000,
                            seconds=5).passed
    slow = batch_target_met(batch_frame({1000: [5.5, 6.0, 4.0]}), profile="lan", size=1000,
                            seconds=5)
    assert not slow.passed and len(slow.counterexample) == 3
    failed = batch_target_met(batch_frame({1000: [0.1]}, ok=False), profile="lan", size=1000,
                              seconds=5)
    assert not failed.passed and "1 batch syncs failed" in failed.message


def test_batch_target_scales_up_a_smaller_batch_and_never_down() -> None:
    scaled = batch_target_met(batch_frame({100: [0.6]}), profile="lan", size=1000, seconds=5)
    assert not scaled.passed and "scaled up from 100" in scaled.observed  # 6 s projected
    only_larger = batch_target_met(batch_frame({10_000: [0.1]}), profile="lan", size=1000,
                                   seconds=5)
    assert not only_larger.passed and only_larger.observed == "not measured"


def test_regression_check_passes_within_ratio_and_names_the_regressed_figures() -> None:
    baseline = {
        "machine": {"cpu_count": 2, "python": "3.11.7"},
        "figures": {"create.lan.w10": {"ratio": 2.0}, "batch.lan.n1000": {"ratio": 10.0},
                    "rss.lan": 1.1},
    }
    ok = no_regression_vs_baseline({"create.lan.w10": 2.9, "batch.lan.n1000": 9.0}, baseline,
                                   max_ratio=1.5)
    assert ok.passed and "0 of 2" in ok.observed
    bad = no_regression_vs_baseline(
        {"create.lan.w10": 3.1, "batch.lan.n1000": 30.0, "fanout_p50.lan.s10": 99.0},
        baseline, max_ratio=1.5, machine={"cpu_count": 8, "python": "3.12.0"})
    assert not bad.passed and "2 of 2" in bad.observed and "worst 3.00x" in bad.observed
    assert [row["figure"] for row in bad.counterexample] == ["batch.lan.n1000", "create.lan.w10"]
    assert "machine differs" in bad.message and "1 new" in bad.message


def test_regression_check_without_a_baseline_passes_and_says_so() -> None:
    result = no_regression_vs_baseline({"create.lan.w10": 3.0}, None, max_ratio=1.5)
    assert result.passed and result.observed == "no stored baseline"
    assert "save_baseline" in result.message


def test_all_operations_succeeded_names_the_failed_ones() -> None:
    ops = pd.DataFrame({"op_id": [1, 2, 3], "client": ["a", "a", "b"],
                        "operation": ["create", "noop", "create"],
                        "outcome": ["ok", "ok", "ok"], "error": ["", "", ""],
                        "latency_s": [0.1, 0.1, 0.1]})
    assert all_operations_succeeded(ops).passed
    ops.loc[2, ["outcome", "error"]] = ["info", "ReadTimeout"]
    failed = all_operations_succeeded(ops)
    assert not failed.passed and [row["op_id"] for row in failed.counterexample] == [3]


def _fault(history: History, fault_id: int, verb: str, profile: str) -> None:
    history.invoke(PROCESS, verb, fault_id=fault_id, fault="network", target="load",
                   label=profile, phase=profile).ok()


def _op(history: History, profile: str | None) -> int:
    op = history.invoke("load-1", "create", profile=profile)
    time.sleep(0.001)  # distinct timestamps: the check compares them
    return op.ok().op_id


def test_measured_under_profile_passes_inside_the_windows_and_names_ops_outside() -> None:
    history = History()
    _op(history, None)  # the direct phase: no profile, not checked
    _fault(history, 1, "start", "lan")
    _op(history, "lan")
    _fault(history, 1, "stop", "lan")
    _fault(history, 2, "start", "wan")
    inside_wan = _op(history, "wan")
    _fault(history, 2, "stop", "wan")
    result = measured_under_profile(history.to_frame(), fault_windows(history))
    assert result.passed and result.observed == "0 of 2 outside"

    late = _op(history, "wan")  # after wan came off
    wrong = _op(history, "mobile-3g")  # a profile never put on
    result = measured_under_profile(history.to_frame(), fault_windows(history))
    assert not result.passed and result.observed == "2 of 4 outside"
    assert [row["op_id"] for row in result.counterexample] == [late, wrong]
    assert inside_wan not in [row["op_id"] for row in result.counterexample]


def test_measured_under_profile_is_unknown_when_nothing_was_measured() -> None:
    history = History()
    _op(history, None)
    result = measured_under_profile(history.to_frame(), fault_windows(history))
    assert result.verdict == "unknown"
