"""Plotly figures of the performance study: each takes a result frame, returns a go.Figure.

They draw what the study computed (medians, min/max, percentiles) and compute nothing, like
`syncbench.charts`. Error bars are the min..max over repeats.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from syncbench.charts import figure, require_columns, shade_fault_windows

_DASH = {"create": "solid", "noop": "dot"}
_FIGURE_COLUMNS = ("scenario", "profile", "x", "value_median", "value_min", "value_max")


def _line_with_range(name: str, rows: pd.DataFrame, x: str = "x", median: str = "value_median",
                     low: str = "value_min", high: str = "value_max", **style: Any) -> go.Scatter:
    """One line through the medians, sorted by `x`, with low..high as asymmetric error bars."""
    rows = rows.sort_values(x)
    error_bars = {
        "type": "data",
        "symmetric": False,
        "array": rows[high] - rows[median],
        "arrayminus": rows[median] - rows[low],
        "visible": True,
    }
    return go.Scatter(name=name, x=rows[x], y=rows[median], mode="lines+markers",
                      error_y=error_bars, **style)


def throughput_by_workers(figures: pd.DataFrame) -> go.Figure:
    """Creates/s by worker count, one line per profile, with the noop baseline dotted.

    `figures` is the result's `figures` frame (rows with scenario "create" and "noop").
    """
    require_columns(figures, _FIGURE_COLUMNS, "throughput")
    lines = (_line_with_range(f"{scenario} ({profile})", rows, line={"dash": _DASH[scenario]})
             for (profile, scenario), rows in figures[figures["scenario"].isin(_DASH)].groupby(
                 ["profile", "scenario"], sort=False))
    return figure(lines, title="Throughput by concurrent workers (noop = bare baseline)",
                  x_title="concurrent workers", y_title="requests per second",
                  legend_title="operation (profile)", yaxis_type="log")


def batch_time_by_size(figures: pd.DataFrame) -> go.Figure:
    """Batch sync time (s) against batch size, one line per profile, log-log."""
    require_columns(figures, _FIGURE_COLUMNS, "batch time")
    lines = (_line_with_range(str(profile), rows)
             for profile, rows in figures[figures["scenario"] == "batch"].groupby(
                 "profile", sort=False))
    return figure(lines, title="Batch sync time by batch size", x_title="items in the batch",
                  y_title="time to push and pull (s)", legend_title="profile",
                  xaxis_type="log", yaxis_type="log")


def fanout_latency_by_subscribers(percentiles: pd.DataFrame) -> go.Figure:
    """Delivery latency percentiles against subscriber count, one line per (profile, pXX).

    `percentiles` has columns profile, subscribers, percentile, value, low, high
    (`result.fanout_percentiles()`).
    """
    require_columns(
        percentiles,
        ("profile", "subscribers", "percentile", "value", "low", "high"),
        "fan-out latency",
    )
    lines = (_line_with_range(f"{percentile} ({profile})", rows, x="subscribers",
                              median="value", low="low", high="high")
             for (profile, percentile), rows in percentiles.groupby(["profile", "percentile"],
                                                                    sort=False))
    return figure(lines, title="WebSocket fan-out delivery latency by subscribers",
                  x_title="subscribers", y_title="write to delivery (ms)",
                  legend_title="percentile (profile)", xaxis_type="log")


def deployment_throughput(figures: pd.DataFrame) -> go.Figure:
    """Median creates/s per deployment (bars), each labelled with its ratio to SQLite.

    `figures` is the result's `deployment_figures` frame."""
    return _deployment_bars(figures, "creates_per_s", "ratio_to_sqlite", "creates/s",
                            "Creates/s by deployment (ratio to one server on SQLite)",
                            "creates/s (median over repeats)")


def deployment_batch_sync(figures: pd.DataFrame) -> go.Figure:
    """Median seconds of one batch sync per deployment (bars), each labelled with its time
    over SQLite's. `figures` is the result's `deployment_figures` frame."""
    return _deployment_bars(figures, "batch_sync_s", "batch_ratio_to_sqlite", "batch sync",
                            "One batch sync by deployment (time over one server on SQLite)",
                            "seconds (median over repeats)")


def _deployment_bars(figures: pd.DataFrame, value: str, ratio: str, name: str, title: str,
                     y_title: str) -> go.Figure:
    require_columns(figures, ("deployment", value, ratio), f"deployment {name}")
    labels = [f"{r:.2f}x" if r == r and r is not None else "" for r in figures[ratio]]
    bars = go.Bar(x=figures["deployment"], y=figures[value], text=labels,
                  textposition="outside", name=name)
    return figure([bars], title=title, x_title="deployment", y_title=y_title)


def rss_over_time(memory: pd.DataFrame, windows: pd.DataFrame | None = None) -> go.Figure:
    """The server's resident memory (MiB) over the run, one colour per phase, with the
    network condition of each phase shaded (`windows`: the result's `fault_windows`)."""
    require_columns(memory, ("time", "rss_mib", "phase"), "RSS")
    points = (go.Scatter(name=str(phase), x=rows["time"], y=rows["rss_mib"],
                         mode="markers+lines", marker={"size": 4})
              for phase, rows in memory.groupby("phase", sort=False))
    fig = figure(points, title="Server RSS over the run", x_title="time (UTC)",
                 y_title="RSS (MiB)", legend_title="phase")
    return shade_fault_windows(fig, windows)
