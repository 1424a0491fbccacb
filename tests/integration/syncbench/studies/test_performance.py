"""The performance study end to end on a real Stack, tiny sizes: frames and checks, not timing.

Timing-based verdicts (the targets, the regression gate) depend on the machine and its load,
so they are never asserted here; only that they were evaluated and the frames are well-formed.
"""

from __future__ import annotations

import math

from syncbench.report import load_results
from syncbench.studies.performance import (
    FIGURE_COLUMNS,
    PerformanceParams,
    fill_report,
    load_baseline,
    run,
    write_baseline,
)

CHECKS = {
    "creation target: 6 tasks by 2 workers under 30 s (lan)",
    "batch target: 10 items under 5 s (lan)",
    "no regression vs stored baseline (ratio to noop within 1.5x)",
    "every load operation succeeded",
    "subscribers_saw_every_event",
}


async def test_a_tiny_run_yields_well_formed_frames_and_every_check(tmp_path) -> None:
    params = PerformanceParams(
        seed=5,
        profiles=("lan", "wan"),
        repeats=2,
        workers=(1, 2),
        tasks_per_run=6,
        slow_tasks_per_run=3,
        batch_sizes=(2, 10),
        subscribers=(2, 3),
        fanout_events=2,
        fanout_interval_s=0.0,
        noop_samples=2,
        sustained_s=0.3,
        sustained_workers=2,
        rss_interval_s=0.1,
        create_target_tasks=6,
        create_target_workers=2,
        batch_target_size=10,
        phase_timeout_s=30.0,
        baseline_path=str(tmp_path / "baseline.json"),
    )
    result = await run(params)

    assert {check.name for check in result.checks} == CHECKS
    verdicts = {check.name: check for check in result.checks}
    # Correctness, not speed: every request answered ok, every event reached every subscriber.
    assert verdicts["every load operation succeeded"].passed
    assert verdicts["subscribers_saw_every_event"].passed
    assert (
        verdicts["no regression vs stored baseline (ratio to noop within 1.5x)"].observed
        == "no stored baseline"
    )

    creation = result.creation
    assert len(creation) == 2 * 2 * 2 * 2  # profiles x workers x repeats x (create, noop)
    assert set(creation["kind"]) == {"create", "noop"}
    assert (creation["ok_count"] == creation["requested"]).all()
    assert set(creation.query("profile == 'wan'")["requested"]) == {3}
    assert len(result.batch) == 2 * 2 * 2 and result.batch["ok"].all()
    assert (result.batch["created"] == result.batch["size"]).all()
    runs = result.fanout_runs
    assert len(runs) == 2 * 2 * 2 and (runs["delivered"] == runs["expected"]).all()
    assert len(result.deliveries) == runs["expected"].sum()
    assert (result.deliveries["latency_ms"] > -50).all()  # same clock: no big negative skew
    assert len(result.memory) >= 2 and (result.memory["rss_mib"] > 0).all()
    assert {"direct", "proxied", "lan", "wan"} <= set(result.noop_latency["mode"])

    figures = result.figures
    assert list(figures.columns) == list(FIGURE_COLUMNS)
    assert {
        "create.lan.w2",
        "noop.wan.w1",
        "batch.lan.n10",
        "fanout_p50.wan.s3",
        "fanout_p99.lan.s2",
        "rss.lan",
        "rss.wan",
    } <= set(figures["figure"])
    ratios = figures["ratio_median"]
    assert all(r > 0 and math.isfinite(r) for r in ratios)
    assert (figures["value_min"] <= figures["value_median"]).all()
    assert (figures["value_median"] <= figures["value_max"]).all()
    assert {"noop_direct_ms", "toxiproxy_added_ms", "client_cpu_share_max", "rss_peak_mib"} <= set(
        result.metrics
    )

    # The operations history carries every request with its labels.
    ops = result.operations
    assert set(ops["operation"]) == {"create", "noop", "batch_sync"}
    assert (ops["outcome"] == "ok").all()

    # A baseline written from this run loads back, and the same figures compare clean.
    written = write_baseline(result)
    stored = load_baseline(written)
    assert stored is not None and stored["machine"]["cpu_count"] == result.machine["cpu_count"]
    assert "create.lan.w2" in stored["figures"]

    report = fill_report(result, tmp_path)
    report.save()
    saved = load_results(tmp_path, "performance")
    assert {check["name"] for check in saved["checks"]} == CHECKS
    assert {
        "figures",
        "creation",
        "batch",
        "fanout_runs",
        "deliveries",
        "memory",
        "noop_latency",
        "operations",
    } <= set(saved["data_files"])
    assert saved["environment"]["toxiproxy_version"]
