"""Figures from the raw frames: median, min, max of each value and of its ratio to noop.

Every figure is measured `repeats` times and given as a median with its min/max, and as a
ratio to a bare baseline measured in the same run next to it: `POST /api/v1/noop` on the same
server, through the same proxy, with the same client and concurrency. Ratios (lower is
better) cancel out most of what differs between machines, so they are what a stored
baseline keeps and what the regression check compares. Pure functions of frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from syncbench.metric import MIB, MS, PER_S, S
from syncbench.stats import median

# The scenarios whose ratios the regression check gates. Tail percentiles (fanout_p90/p99)
# are reported but not gated: on a shared 2-core machine they swing more than any sane factor.
GATED_SCENARIOS = ("create", "batch", "fanout_p50", "rss")
# The scenarios whose value and ratio are metrics of the run.
METRIC_SCENARIOS = ("create", "batch", "fanout_p50", "fanout_p99", "rss")
FANOUT_PERCENTILES = ("p50", "p90", "p99")
FIGURE_COLUMNS = ("figure", "scenario", "profile", "x", "unit", "value_median", "value_min",
                  "value_max", "ratio_median", "ratio_min", "ratio_max", "repeats")


def spread(values: Iterable[float]) -> tuple[float, float, float]:
    """(median, min, max) of the values that are numbers; NaNs when there are none."""
    data = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not data:
        return math.nan, math.nan, math.nan
    return median(data), min(data), max(data)


def figure_row(scenario: str, profile: str, x: int | None, label: str, unit: str,
               values: Iterable[float], ratios: Iterable[float]) -> dict[str, Any]:
    """One row of the figures frame, named `<scenario>.<profile>[.<label>]`."""
    values, ratios = list(values), list(ratios)
    v_med, v_min, v_max = spread(values)
    r_med, r_min, r_max = spread(ratios)
    return {
        "figure": f"{scenario}.{profile}" + (f".{label}" if label else ""),
        "scenario": scenario, "profile": profile, "x": x, "unit": unit,
        "value_median": v_med, "value_min": v_min, "value_max": v_max,
        "ratio_median": r_med, "ratio_min": r_min, "ratio_max": r_max,
        "repeats": len(values),
    }


def compute_figures(creation: pd.DataFrame, batch: pd.DataFrame, fanout_runs: pd.DataFrame,
                    memory_runs: pd.DataFrame) -> pd.DataFrame:
    """One row per figure (FIGURE_COLUMNS): median/min/max value and ratio to noop."""
    rows: list[dict[str, Any]] = []
    if not creation.empty:
        for (profile, workers), group in creation.groupby(["profile", "workers"], sort=False):
            paired = group.pivot(index="repeat", columns="kind",
                                 values=["elapsed_s", "throughput_per_s"])
            creates = paired["throughput_per_s"]["create"]
            noops = paired["throughput_per_s"]["noop"]
            ratios = paired["elapsed_s"]["create"] / paired["elapsed_s"]["noop"]
            label = f"w{workers}"
            rows.append(figure_row("create", profile, int(workers), label, PER_S, creates,
                                   ratios))
            rows.append(figure_row("noop", profile, int(workers), label, PER_S, noops,
                                   [1.0] * len(noops)))
    if not batch.empty:
        for (profile, size), group in batch.groupby(["profile", "size"], sort=False):
            rows.append(figure_row("batch", profile, int(size), f"n{size}", S,
                                   group["elapsed_s"],
                                   group["elapsed_s"] * 1000 / group["noop_ms"]))
    if not fanout_runs.empty:
        for (profile, subscribers), group in fanout_runs.groupby(["profile", "subscribers"],
                                                                 sort=False):
            for q in FANOUT_PERCENTILES:
                rows.append(figure_row(f"fanout_{q}", profile, int(subscribers),
                                       f"s{subscribers}", MS, group[f"{q}_ms"],
                                       group[f"{q}_ms"] / group["noop_ms"]))
    if not memory_runs.empty:
        for profile, group in memory_runs.groupby("profile", sort=False):
            rows.append(figure_row("rss", profile, None, "", MIB, group["rss_peak_mib"],
                                   group["rss_peak_mib"] / group["rss_before_mib"]))
    return pd.DataFrame(rows, columns=list(FIGURE_COLUMNS))


def ratio_figures(figures: pd.DataFrame,
                  scenarios: Sequence[str] = GATED_SCENARIOS) -> dict[str, float]:
    """figure -> median ratio to noop, for the gated scenarios (what the baseline compares)."""
    gated = figures[figures["scenario"].isin(scenarios)]
    return {row.figure: float(row.ratio_median) for row in gated.itertuples(index=False)
            if not math.isnan(row.ratio_median)}


def noise_summary(figures: pd.DataFrame) -> dict[str, float]:
    """How noisy the repeats were: relative spread (max - min) / median of each ratio."""
    gated = figures[figures["scenario"].isin(("create", "batch", "fanout_p50"))
                    & (figures["repeats"] > 1)]
    spreads = ((gated["ratio_max"] - gated["ratio_min"]) / gated["ratio_median"]).dropna()
    if spreads.empty:
        return {}
    return {"noise_rel_spread_median": float(spreads.median()),
            "noise_rel_spread_max": float(spreads.max())}


def fanout_percentiles(figures: pd.DataFrame) -> pd.DataFrame:
    """Delivery latency percentiles per profile and subscriber count (median over repeats,
    with min/max): columns profile, subscribers, percentile, value, low, high."""
    rows = figures[figures["scenario"].str.startswith("fanout_p")]
    return pd.DataFrame({
        "profile": rows["profile"],
        "subscribers": rows["x"].astype(int),
        "percentile": rows["scenario"].str.removeprefix("fanout_"),
        "value": rows["value_median"],
        "low": rows["value_min"],
        "high": rows["value_max"],
    }).reset_index(drop=True)


__all__ = ["FIGURE_COLUMNS", "GATED_SCENARIOS", "METRIC_SCENARIOS", "compute_figures",
           "fanout_percentiles", "figure_row", "noise_summary", "ratio_figures", "spread"]
