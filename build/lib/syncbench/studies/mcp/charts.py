"""The MCP study's figures: attempts over time with the fault windows, outcomes per fault."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from syncbench.charts import figure, shade_fault_windows

ATTEMPT_COLOURS = {"ok": "#2da44e", "retried_status": "#bf8700", "timeout": "#8250df",
                   "transport_error": "#cf222e", "tool_error": "#57606a"}


def attempts_over_time(attempts: pd.DataFrame, windows: pd.DataFrame) -> go.Figure:
    """Every tool-call attempt (start time vs how long it took) by outcome, faults shaded."""
    traces = [go.Scatter(name=str(outcome), x=group["started"], y=group["latency_ms"],
                         mode="markers", marker={"size": 5,
                                                 "color": ATTEMPT_COLOURS.get(str(outcome))},
                         customdata=group[["client", "tool", "attempt", "session", "error"]],
                         hovertemplate="%{customdata[0]} %{customdata[1]} attempt "
                                       "%{customdata[2]} (session %{customdata[3]})<br>"
                                       "%{customdata[4]}<extra>%{fullData.name}</extra>")
              for outcome, group in attempts.groupby("outcome", sort=False)]
    fig = figure(traces, title="MCP tool-call attempts over the fault windows", x_title="time",
                 y_title="attempt duration (ms)", legend_title="outcome")
    return shade_fault_windows(fig, windows)


def outcomes_per_fault(outcomes: pd.DataFrame) -> go.Figure:
    """Attempts by outcome under each fault kind, stacked."""
    bars = [go.Bar(name=str(outcome), x=group["fault"], y=group["attempts"],
                   marker_color=ATTEMPT_COLOURS.get(str(outcome)))
            for outcome, group in outcomes.groupby("outcome", sort=False)]
    return figure(bars, title="What MCP calls met under each fault", x_title="fault",
                  y_title="attempts", legend_title="outcome", barmode="stack")


__all__ = ["attempts_over_time", "outcomes_per_fault"]
