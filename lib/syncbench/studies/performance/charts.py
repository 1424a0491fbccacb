"""Plotly figures of the performance study: each takes a result frame, returns a go.Figure.

They draw what the study computed (medians, min/max, percentiles) and compute nothing, like
`syncbench.charts`. Error bars are the min..max over repeats.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from syncbench.charts import require_columns, shade_fault_windows

_DASH = {"create": "solid", "noop": "dot"}


def _error_bars(rows: pd.DataFrame, median: str, low: str, high: str) -> dict:
    return {
        "type": "data",
        "symmetric": False,
        "array": rows[high] - rows[median],
        "arrayminus": rows[median] - rows[low],
        "visible": True,
    }


def throughput_by_workers(figures: pd.DataFrame) -> go.Figure:
    """Creates/s by worker count, one line per profile, with the noop baseline dotted.

    `figures` is the result's `figures` frame (rows with scenario "create" and "noop").
    """
    require_columns(
        figures,
        ("scenario", "profile", "x", "value_median", "value_min", "value_max"),
        "throughput",
    )
    fig = go.Figure()
    for (profile, scenario), rows in figures[figures["scenario"].isin(_DASH)].groupby(
        ["profile", "scenario"], sort=False
    ):
        rows = rows.sort_values("x")
        fig.add_trace(
            go.Scatter(
                name=f"{scenario} ({profile})",
                x=rows["x"],
                y=rows["value_median"],
                mode="lines+markers",
                line={"dash": _DASH[scenario]},
                error_y=_error_bars(rows, "value_median", "value_min", "value_max"),
            )
        )
    fig.update_layout(
        title="Throughput by concurrent workers (noop = bare baseline)",
        xaxis_title="concurrent workers",
        yaxis_title="requests per second",
        yaxis_type="log",
        legend_title="operation (profile)",
    )
    return fig


def batch_time_by_size(figures: pd.DataFrame) -> go.Figure:
    """Batch sync time (s) against batch size, one line per profile, log-log."""
    require_columns(
        figures,
        ("scenario", "profile", "x", "value_median", "value_min", "value_max"),
        "batch time",
    )
    fig = go.Figure()
    for profile, rows in figures[figures["scenario"] == "batch"].groupby("profile", sort=False):
        rows = rows.sort_values("x")
        fig.add_trace(
            go.Scatter(
                name=str(profile),
                x=rows["x"],
                y=rows["value_median"],
                mode="lines+markers",
                error_y=_error_bars(rows, "value_median", "value_min", "value_max"),
            )
        )
    fig.update_layout(
        title="Batch sync time by batch size",
        xaxis_title="items in the batch",
        yaxis_title="time to push and pull (s)",
        xaxis_type="log",
        yaxis_type="log",
        legend_title="profile",
    )
    return fig


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
    fig = go.Figure()
    for (profile, percentile), rows in percentiles.groupby(["profile", "percentile"], sort=False):
        rows = rows.sort_values("subscribers")
        fig.add_trace(
            go.Scatter(
                name=f"{percentile} ({profile})",
                x=rows["subscribers"],
                y=rows["value"],
                mode="lines+markers",
                error_y=_error_bars(rows, "value", "low", "high"),
            )
        )
    fig.update_layout(
        title="WebSocket fan-out delivery latency by subscribers",
        xaxis_title="subscribers",
        yaxis_title="write to delivery (ms)",
        xaxis_type="log",
        legend_title="percentile (profile)",
    )
    return fig


def rss_over_time(memory: pd.DataFrame, windows: pd.DataFrame | None = None) -> go.Figure:
    """The server's resident memory (MiB) over the run, one colour per phase, with the
    network condition of each phase shaded (`windows`: the result's `fault_windows`)."""
    require_columns(memory, ("time", "rss_mib", "phase"), "RSS")
    fig = go.Figure()
    for phase, rows in memory.groupby("phase", sort=False):
        fig.add_trace(
            go.Scatter(
                name=str(phase),
                x=rows["time"],
                y=rows["rss_mib"],
                mode="markers+lines",
                marker={"size": 4},
            )
        )
    fig.update_layout(
        title="Server RSS over the run",
        xaxis_title="time (UTC)",
        yaxis_title="RSS (MiB)",
        legend_title="phase",
    )
    return shade_fault_windows(fig, windows)
