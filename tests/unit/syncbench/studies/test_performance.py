"""Pure parts of the performance study: parameters, checks, figures, baselines, workload."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from syncbench.studies import performance_charts
from syncbench.studies.notebook import params_from_notebook
from syncbench.studies.performance import (
    FIGURE_COLUMNS,
    PerformanceParams,
    PerformanceResult,
    all_operations_succeeded,
    batch_items,
    batch_target_met,
    compute_figures,
    creation_target_met,
    load_baseline,
    no_regression_vs_baseline,
    noise_summary,
    ratio_figures,
    task_contents,
    write_baseline,
)


def creation_frame(
    elapsed_create: list[float],
    elapsed_noop: list[float],
    requested: int = 1000,
    failed: int = 0,
    profile: str = "lan",
    workers: int = 10,
) -> pd.DataFrame:
    rows = []
    for repeat, (create, noop) in enumerate(zip(elapsed_create, elapsed_noop, strict=True)):
        for kind, elapsed in (("create", create), ("noop", noop)):
            rows.append(
                {
                    "profile": profile,
                    "workers": workers,
                    "repeat": repeat,
                    "kind": kind,
                    "requested": requested,
                    "failed": failed if kind == "create" else 0,
                    "elapsed_s": elapsed,
                    "throughput_per_s": requested / elapsed,
                    "client_cpu_share": 0.3,
                    "server_cpu_share": 0.5,
                }
            )
    return pd.DataFrame(rows)


def batch_frame(
    sizes_times: dict[int, list[float]], profile: str = "lan", ok: bool = True
) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "profile": profile,
                "size": size,
                "repeat": r,
                "elapsed_s": t,
                "noop_ms": 2.0,
                "ratio": t * 500,
                "created": size,
                "ok": ok,
            }
            for size, times in sizes_times.items()
            for r, t in enumerate(times)
        ]
    )


def fanout_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "profile": "lan",
                "subscribers": n,
                "repeat": r,
                "noop_ms": 2.0,
                "p50_ms": 3.0 * n / 10 + r,
                "p90_ms": 5.0 * n / 10,
                "p99_ms": 9.0 * n / 10,
            }
            for n in (10, 100)
            for r in range(3)
        ]
    )


def memory_runs() -> pd.DataFrame:
    return pd.DataFrame([{"profile": "lan", "rss_before_mib": 50.0, "rss_peak_mib": 60.0}])


def figures() -> pd.DataFrame:
    return compute_figures(
        creation_frame([2.0, 2.2, 2.4], [1.0, 1.0, 1.2]),
        batch_frame({100: [0.01, 0.012, 0.011], 1000: [0.1, 0.12, 0.08]}),
        fanout_frame(),
        memory_runs(),
    )


# -- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"repeats": 0}, "repeats"),
        ({"workers": []}, "workers"),
        ({"workers": (0, 10)}, "workers"),
        ({"workers": (10, 10)}, "workers"),
        ({"batch_sizes": (100, 50_000)}, "batch_sizes"),
        ({"subscribers": (-1,)}, "subscribers"),
        ({"profiles": ("lan", "no-such-profile")}, "profiles"),
        ({"profiles": ("lan", "outage")}, "profiles"),
        ({"profiles": ()}, "profiles"),
        ({"seeded_bug": "not-a-bug"}, "seeded_bug"),
        ({"regression_ratio": 0.9}, "regression_ratio"),
        ({"sustained_s": 0}, "sustained_s"),
        ({"fanout_interval_s": -1}, "fanout_interval_s"),
        ({"target_profile": "wan", "profiles": ("lan",)}, "target_profile"),
        ({"create_target_workers": 5}, "create_target_workers"),
        ({"tasks_per_run": 0}, "tasks_per_run"),
    ],
)
def test_a_bad_parameter_raises_naming_it(overrides: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        PerformanceParams(**overrides)


def test_params_from_notebook_values_turns_lists_into_tuples() -> None:
    params = params_from_notebook(PerformanceParams, {
        "profiles": ["lan"], "workers": [1, 10], "batch_sizes": [10], "subscribers": [2]})
    assert params.profiles == ("lan",) and params.workers == (1, 10)


def test_slower_profiles_create_fewer_tasks_and_seeded_bug_reaches_the_server() -> None:
    params = PerformanceParams(tasks_per_run=1000, slow_tasks_per_run=40, seeded_bug="skip_event")
    assert params.tasks_for("lan") == 1000 and params.tasks_for("wan") == 40
    assert params.server_options()[-2:] == ("--seeded-bug", "skip_event")
    assert "--seeded-bug" not in PerformanceParams().server_options()


# -- workload ---------------------------------------------------------------------------------


def test_workload_is_seeded() -> None:
    assert task_contents(random.Random(3), 20, "p") == task_contents(random.Random(3), 20, "p")
    assert task_contents(random.Random(3), 20, "p") != task_contents(random.Random(4), 20, "p")
    first, again = batch_items(random.Random(5), 50, "b"), batch_items(random.Random(5), 50, "b")
    assert first == again
    assert len({item.change_id for item in first}) == 50
    assert all(item.base_version == 0 for item in first)


# -- checks -----------------------------------------------------------------------------------


def test_creation_target_passes_fast_and_fails_slow() -> None:
    fast = creation_target_met(
        creation_frame([4.0, 5.0, 6.0], [1, 1, 1]),
        profile="lan",
        workers=10,
        tasks=1000,
        seconds=30,
    )
    assert fast.passed and "5.00 s" in fast.observed
    slow = creation_target_met(
        creation_frame([31.0, 35.0, 29.0], [1, 1, 1]),
        profile="lan",
        workers=10,
        tasks=1000,
        seconds=30,
    )
    assert not slow.passed and slow.counterexample


def test_creation_target_scales_a_smaller_run_by_throughput() -> None:
    # 100 tasks in 4 s is 25 creates/s: 1000 would take 40 s
    result = creation_target_met(
        creation_frame([4.0], [1.0], requested=100),
        profile="lan",
        workers=10,
        tasks=1000,
        seconds=30,
    )
    assert not result.passed and "scaled from 100" in result.observed


def test_creation_target_fails_when_creates_failed_or_not_measured() -> None:
    failing = creation_target_met(
        creation_frame([1.0], [1.0], failed=3), profile="lan", workers=10, tasks=1000, seconds=30
    )
    assert not failing.passed and "3 creates failed" in failing.message
    missing = creation_target_met(
        creation_frame([1.0], [1.0]), profile="lan", workers=5, tasks=1000, seconds=30
    )
    assert not missing.passed and missing.observed == "not measured"


def test_batch_target_passes_fast_and_fails_slow() -> None:
    assert batch_target_met(
        batch_frame({1000: [0.5, 0.6, 0.7]}), profile="lan", size=1000, seconds=5
    ).passed
    slow = batch_target_met(
        batch_frame({1000: [5.5, 6.0, 4.0]}), profile="lan", size=1000, seconds=5
    )
    assert not slow.passed and slow.counterexample
    assert not batch_target_met(
        batch_frame({1000: [0.1]}, ok=False), profile="lan", size=1000, seconds=5
    ).passed


def test_batch_target_scales_up_a_smaller_batch_and_never_down() -> None:
    scaled = batch_target_met(batch_frame({100: [0.6]}), profile="lan", size=1000, seconds=5)
    assert not scaled.passed and "scaled up from 100" in scaled.observed  # 6 s projected
    only_larger = batch_target_met(
        batch_frame({10_000: [0.1]}), profile="lan", size=1000, seconds=5
    )
    assert not only_larger.passed and only_larger.observed == "not measured"


def test_regression_check_passes_within_ratio_and_names_the_regressed_figures() -> None:
    baseline = {
        "machine": {"cpu_count": 2, "python": "3.11.7"},
        "figures": {
            "create.lan.w10": {"ratio": 2.0},
            "batch.lan.n1000": {"ratio": 10.0},
            "rss.lan": {"ratio": 1.1},
        },
    }
    ok = no_regression_vs_baseline(
        {"create.lan.w10": 2.9, "batch.lan.n1000": 9.0}, baseline, max_ratio=1.5
    )
    assert ok.passed and "0 of 2" in ok.observed
    bad = no_regression_vs_baseline(
        {"create.lan.w10": 3.1, "batch.lan.n1000": 30.0, "fanout_p50.lan.s10": 99.0},
        baseline,
        max_ratio=1.5,
        machine={"cpu_count": 8, "python": "3.12.0"},
    )
    assert not bad.passed and "2 of 2" in bad.observed
    assert [row["figure"] for row in bad.counterexample] == ["batch.lan.n1000", "create.lan.w10"]
    assert "machine differs" in bad.message


def test_regression_check_without_a_baseline_passes_and_says_so() -> None:
    result = no_regression_vs_baseline({"create.lan.w10": 3.0}, None, max_ratio=1.5)
    assert result.passed and result.observed == "no stored baseline"


def test_all_operations_succeeded_names_the_failed_ones() -> None:
    ops = pd.DataFrame(
        {
            "op_id": [1, 2, 3],
            "client": ["a", "a", "b"],
            "operation": ["create", "noop", "create"],
            "outcome": ["ok", "ok", "ok"],
            "error": ["", "", ""],
            "latency_s": [0.1, 0.1, 0.1],
        }
    )
    assert all_operations_succeeded(ops).passed
    ops.loc[2, ["outcome", "error"]] = ["info", "ReadTimeout"]
    failed = all_operations_succeeded(ops)
    assert not failed.passed and [row["op_id"] for row in failed.counterexample] == [3]


# -- figures and baselines --------------------------------------------------------------------


def test_figures_are_medians_with_spread_and_paired_ratios() -> None:
    frame = figures()
    assert list(frame.columns) == list(FIGURE_COLUMNS)
    create = frame.set_index("figure").loc["create.lan.w10"]
    assert create.ratio_median == pytest.approx(2.0)  # pairs 2.0, 2.2, 2.0
    assert create.ratio_min == pytest.approx(2.0) and create.ratio_max == pytest.approx(2.2)
    assert create.value_median == pytest.approx(1000 / 2.2) and create.repeats == 3
    assert frame.set_index("figure").loc["noop.lan.w10"].ratio_median == 1.0
    assert frame.set_index("figure").loc["batch.lan.n1000"].ratio_median == pytest.approx(50.0)
    assert frame.set_index("figure").loc["rss.lan"].ratio_median == pytest.approx(1.2)
    gated = ratio_figures(frame)
    assert "fanout_p99.lan.s10" not in gated and "fanout_p50.lan.s100" in gated
    assert "noop.lan.w10" not in gated
    noise = noise_summary(frame)
    assert noise["noise_rel_spread_max"] >= noise["noise_rel_spread_median"] > 0


def result_with(frame: pd.DataFrame, params: PerformanceParams) -> PerformanceResult:
    empty = pd.DataFrame()
    return PerformanceResult(
        params=params,
        operations=empty,
        noop_latency=empty,
        creation=empty,
        batch=empty,
        fanout_runs=empty,
        deliveries=empty,
        memory=empty,
        figures=frame,
        checks=[],
        metrics={},
        machine={"cpu_count": 2, "python": "3.11.7"},
        baseline=None,
    )


def test_a_written_baseline_loads_back_and_compares_clean(tmp_path) -> None:
    params = PerformanceParams(baseline_path=str(tmp_path / "b.json"))
    path = write_baseline(result_with(figures(), params))
    assert path == tmp_path / "b.json"
    stored = load_baseline(path)
    assert stored is not None and stored["machine"]["cpu_count"] == 2
    assert set(stored["figures"]) == set(ratio_figures(figures()))
    check = no_regression_vs_baseline(ratio_figures(figures()), stored, max_ratio=1.5)
    assert check.passed
    assert load_baseline(tmp_path / "missing.json") is None


def test_the_stored_baseline_is_well_formed() -> None:
    stored = load_baseline(PerformanceParams().baseline_file)
    assert stored is not None, "params/baselines/performance.json is missing"
    assert {"cpu_count", "python"} <= set(stored["machine"])
    assert stored["figures"] and all(v["ratio"] > 0 for v in stored["figures"].values())


def test_fanout_percentiles_and_charts_take_the_result_frames() -> None:
    frame = figures()
    result = result_with(frame, PerformanceParams())
    percentiles = result.fanout_percentiles()
    assert set(percentiles["percentile"]) == {"p50", "p90", "p99"}
    assert set(percentiles["subscribers"]) == {10, 100}
    memory = pd.DataFrame(
        {"time_s": [0.0, 0.5], "rss_mib": [50.0, 51.0], "phase": ["start", "lan: create"]}
    )
    assert len(performance_charts.throughput_by_workers(frame).data) == 2
    assert len(performance_charts.batch_time_by_size(frame).data) == 1
    assert len(performance_charts.fanout_latency_by_subscribers(percentiles).data) == 3
    assert len(performance_charts.rss_over_time(memory).data) == 2
    with pytest.raises(ValueError, match="rss_mib"):
        performance_charts.rss_over_time(memory.drop(columns="rss_mib"))
