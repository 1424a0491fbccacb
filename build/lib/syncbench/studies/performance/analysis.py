"""A run's frames, figures, checks and metrics, assembled from what the Bench recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from syncbench.checks import subscribers_saw_every_event
from syncbench.history import History
from syncbench.metric import MIB, MS, PER_S, RATIO, TIMES, Metrics
from syncbench.nemesis import fault_windows
from syncbench.stats import latency_summary
from syncbench.studies.performance.checks import (
    all_operations_succeeded,
    batch_target_met,
    creation_target_met,
    measured_under_profile,
    no_regression_vs_baseline,
)
from syncbench.studies.performance.deployments import (
    DELIVERY_COLUMNS as DEPLOYMENT_DELIVERY_COLUMNS,
)
from syncbench.studies.performance.deployments import (
    DEPLOYMENT_COLUMNS,
    deployment_figures,
    parse_deployment,
)
from syncbench.studies.performance.fanout import DELIVERY_COLUMNS
from syncbench.studies.performance.figures import (
    METRIC_SCENARIOS,
    compute_figures,
    noise_summary,
    ratio_figures,
)
from syncbench.studies.performance.params import PerformanceParams
from syncbench.studies.performance.phases import Bench
from syncbench.verdict import CheckResult

# A load generator using this share of one core (or more) is likely the bottleneck itself.
CLIENT_BOTTLENECK_SHARE = 0.85
MEMORY_COLUMNS = ("time_s", "time", "rss_mib", "phase")


def frames(bench: Bench, history: History) -> dict[str, pd.DataFrame]:
    """The raw data of the run (each saved as CSV by the report), figures included."""
    memory = pd.DataFrame(bench.sampler.samples, columns=["time_s", "wall", "rss_mib", "phase"])
    memory["time"] = pd.to_datetime(memory["wall"].astype("float64"), unit="s", utc=True)
    out = {
        "operations": history.to_frame(),
        "fault_windows": fault_windows(history),
        "noop_latency": pd.DataFrame(bench.noop_rows, columns=["mode", "sample", "latency_ms"]),
        "creation": pd.DataFrame(bench.creation_rows),
        "batch": pd.DataFrame(bench.batch_rows),
        "fanout_runs": pd.DataFrame(bench.fanout_rows),
        "deliveries": pd.DataFrame(bench.deliveries, columns=list(DELIVERY_COLUMNS)),
        "memory": memory[list(MEMORY_COLUMNS)],
        "memory_runs": pd.DataFrame(bench.memory_runs),
    }
    out["figures"] = compute_figures(out["creation"], out["batch"], out["fanout_runs"],
                                     out["memory_runs"])
    out["deployments"] = pd.DataFrame(bench.deployment_rows,
                                      columns=["store", "replicas", *DEPLOYMENT_COLUMNS[:1],
                                               *DEPLOYMENT_COLUMNS[3:]])
    out["deployment_figures"] = deployment_figures(out["deployments"])
    out["deployment_deliveries"] = pd.DataFrame(bench.deployment_deliveries,
                                                columns=list(DEPLOYMENT_DELIVERY_COLUMNS))
    out["deployment_delivery_figures"] = latency_summary(
        out["deployment_deliveries"], ["deployment", "path"], sort=False)
    return out


def checks(params: PerformanceParams, data: Mapping[str, pd.DataFrame],
           change_logs: Mapping[str, list[int]], subscriptions: Mapping[str, Mapping[str, int]],
           baseline: dict[str, Any] | None, machine: dict[str, Any]) -> list[CheckResult]:
    """Every check of the run, in the order the verdict shows them."""
    return [
        creation_target_met(data["creation"], profile=params.target_profile,
                            workers=params.create_target_workers,
                            tasks=params.create_target_tasks, seconds=params.create_target_s),
        batch_target_met(data["batch"], profile=params.target_profile,
                         size=params.batch_target_size, seconds=params.batch_target_s),
        no_regression_vs_baseline(ratio_figures(data["figures"]), baseline,
                                  max_ratio=params.regression_ratio, machine=machine,
                                  source=str(params.baseline_file)),
        all_operations_succeeded(data["operations"]),
        subscribers_saw_every_event(data["deliveries"], change_logs, subscriptions=subscriptions),
        measured_under_profile(data["operations"], data["fault_windows"]),
        *([every_replica_delivered(data["deployment_deliveries"], params)]
          if any(parse_deployment(d)[1] > 1 for d in params.deployments) else []),
    ]


def every_replica_delivered(deliveries: pd.DataFrame, params: PerformanceParams) -> CheckResult:
    """Each replica deployment's subscribers, on the writer's replica and on another, got
    every event written for the delivery latency."""
    wanted = [d for d in params.deployments if parse_deployment(d)[1] > 1]
    counts = deliveries.groupby(["deployment", "path"]).size() if not deliveries.empty else {}
    short = [{"deployment": d, "path": path, "got": int(counts.get((d, path), 0)),
              "wanted": params.deployment_events}
             for d in wanted for path in ("same replica", "cross replica")
             if int(counts.get((d, path), 0)) != params.deployment_events]
    return CheckResult.from_counterexample(
        "every_replica_delivered", short,
        observed=f"{len(short)} of {2 * len(wanted)} subscribers short",
        expected=f"{params.deployment_events} events each",
        message="a subscriber on the writer's replica or on another missed events" if short
        else "subscribers on the writer's replica and on another got every event")


def metrics(params: PerformanceParams, data: Mapping[str, pd.DataFrame]) -> tuple[Metrics,
                                                                                  list[str]]:
    """The run's headline metrics, each with its unit, and notes on how far to trust them."""
    out = Metrics()
    notes: list[str] = []
    noop = data["noop_latency"]
    medians = noop.groupby("mode")["latency_ms"].median() if not noop.empty else pd.Series()
    if "direct" in medians and "proxied" in medians:
        out.add("noop_direct_ms", medians["direct"], MS)
        out.add("noop_proxied_ms", medians["proxied"], MS)
        out.add("toxiproxy_added_ms", medians["proxied"] - medians["direct"], MS)
    for profile in params.profiles:
        if profile in medians:
            out.add(f"noop_{profile}_ms", medians[profile], MS)
    for row in data["figures"].itertuples(index=False):
        if row.scenario in METRIC_SCENARIOS:
            out.add(f"{row.figure}.value", _round(row.value_median), row.unit)
            out.add(f"{row.figure}.ratio", _round(row.ratio_median), TIMES)
    for name, value in noise_summary(data["figures"]).items():
        out.add(name, value, RATIO)
    creation, memory_runs = data["creation"], data["memory_runs"]
    shares = [frame["client_cpu_share"].max() for frame in (creation, memory_runs)
              if not frame.empty and "client_cpu_share" in frame]
    if shares:
        out.add("client_cpu_share_max", max(shares), RATIO)
        if max(shares) >= CLIENT_BOTTLENECK_SHARE:
            notes.append(_bottleneck_note(max(shares), creation))
    if not creation.empty:
        out.add("server_cpu_share_max", creation["server_cpu_share"].max(), RATIO)
    if not memory_runs.empty:
        out.add("rss_peak_mib", memory_runs["rss_peak_mib"].max(), MIB)
    for row in data.get("deployment_figures", pd.DataFrame()).to_dict(orient="records"):
        key = row["deployment"].replace(" ", "_")
        out.add(f"deployment_{key}_creates_per_s", row["creates_per_s"], PER_S)
        out.add(f"deployment_{key}_ratio_to_sqlite", row["ratio_to_sqlite"], TIMES)
    for row in data.get("deployment_delivery_figures", pd.DataFrame()).to_dict(orient="records"):
        key = f"{row['deployment']}_{row['path']}".replace(" ", "_")
        out.add(f"deployment_{key}_delivery_p50_ms", row["p50_ms"], MS)
        out.add(f"deployment_{key}_delivery_p99_ms", row["p99_ms"], MS)
    return out, notes


def _bottleneck_note(share: float, creation: pd.DataFrame) -> str:
    where = ""
    if not creation.empty:
        worst = creation.loc[creation["client_cpu_share"].idxmax()]
        where = f" ({worst['kind']} on {worst['profile']} with {worst['workers']} workers)"
    return (f"the load generator used {share:.0%} of a core{where}: at that load the client, "
            "not the server, may be the bottleneck")


def _round(value: float) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)


__all__ = ["CLIENT_BOTTLENECK_SHARE", "checks", "frames", "metrics"]
