"""Plotly figures for the studies: each takes a DataFrame and returns a go.Figure.

Charts draw; they compute nothing. Percentiles, ECDF points and the like come from the
caller (a study function or `syncbench.stats`). Time series shade the windows in which a
fault was active: a windows frame has columns `target`, `profile`, `start`, `end`.

Call `setup_rendering()` once in a notebook: figures are interactive; under `syncbench run`
(which sets STATIC_CHARTS_ENV) each also carries a PNG, a fallback for places that run no
JavaScript (code hosts). A kernel in JupyterLab starts no headless browser for it.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.basedatatypes import BaseTraceType

OUTCOME_COLOURS = {"ok": "#2da44e", "fail": "#cf222e", "info": "#bf8700"}
BREAKER_STATES = ("closed", "half_open", "open")
FAULT_FILL = "#d1242f"
WINDOW_COLUMNS = ("target", "profile", "start", "end")

# Debian's chromium first: kaleido v1 renders PNGs in a Chrome-family browser.
_BROWSER_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
_warned_no_png = False


def find_browser() -> str | None:
    """Return the browser kaleido should use: $BROWSER_PATH, Debian's chromium, or one on PATH."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for candidate in _BROWSER_CANDIDATES:
        path = shutil.which(candidate)
        if path:
            return path
    return None


STATIC_CHARTS_ENV = "SYNCBENCH_STATIC_CHARTS"  # "1": the runner wants PNG fallbacks
KALEIDO_ATTEMPTS = 3


def setup_rendering(png: bool | None = None) -> str:
    """Set plotly's default renderer and return it: "plotly_mimetype+png" when a PNG is
    wanted (`png`; by default only under the runner, STATIC_CHARTS_ENV) and kaleido can render
    one, else "plotly_mimetype" (interactive only; one warning when a PNG was wanted)."""
    global _warned_no_png
    if png is None:
        png = os.environ.get(STATIC_CHARTS_ENV) == "1"
    renderer = "plotly_mimetype"
    reason = ""
    browser = find_browser() if png else None
    if png and browser is None:
        reason = "no Chrome/Chromium found (install it with `make chromium` or set BROWSER_PATH)"
    elif png:
        os.environ["BROWSER_PATH"] = browser
        # On a loaded machine kaleido's page can be called before its script has loaded
        # ("kaleido_scopes is not defined", seen in CI): a fresh start renders.
        for _attempt in range(KALEIDO_ATTEMPTS):
            try:
                _start_kaleido()
                renderer, reason = "plotly_mimetype+png", ""
                break
            except Exception as exc:  # kaleido/chromium fail in many ways; any means no PNG
                reason = f"kaleido could not render with {browser}: {exc}"
    if reason and not _warned_no_png:
        _warned_no_png = True
        warnings.warn(
            f"charts will be interactive only, without a static PNG: {reason}",
            RuntimeWarning,
            stacklevel=2,
        )
    pio.renderers.default = renderer
    return renderer


def _start_kaleido() -> None:
    """Start one long-lived kaleido browser (a PNG then takes ~0.2 s, not ~3 s) and prove it
    renders."""
    import kaleido

    # plotly passes its (empty) kaleido options on every call; with a server they are unused
    warnings.filterwarnings("ignore", message="The kopts argument is ignored")
    # mathjax=False: kaleido would otherwise fetch MathJax from a CDN for every page
    kaleido.start_sync_server(mathjax=False, timeout=60, silence_warnings=True)
    try:
        pio.to_image(go.Figure(), format="png", width=10, height=10)
    except BaseException:
        kaleido.stop_sync_server(silence_warnings=True)
        raise


def figure(
    traces: Iterable[BaseTraceType],
    *,
    title: str,
    x_title: str,
    y_title: str,
    legend_title: str | None = None,
    **layout: Any,
) -> go.Figure:
    """Return a figure of `traces` with its title, axis titles, legend title and any other
    `layout` set: the frame every chart here shares."""
    fig = go.Figure(list(traces))
    titles = {"title": title, "xaxis_title": x_title, "yaxis_title": y_title}
    if legend_title is not None:
        titles["legend_title"] = legend_title
    fig.update_layout(**titles, **layout)
    return fig


# One colour per fault kind, so a timeline tells a crash from a pause from a partition.
FAULT_FILLS = {
    "network": "#f0ad4e", "offline": "#d9534f", "partition": "#a94442",
    "storage": "#8a6d3b", "crash": "#cf222e", "restart": "#e36209", "pause": "#6f42c1",
    "clock": "#0969da", "client_crash": "#bf3989", "client_clock": "#1f883d",
}


def shade_fault_windows(fig: go.Figure, windows: pd.DataFrame | None) -> go.Figure:
    """Shade each fault window (`start`..`end`) on `fig` in its kind's colour, labelled
    "<label> on <target>"."""
    if windows is None or windows.empty:
        return fig
    require_columns(windows, WINDOW_COLUMNS, "fault windows")
    for index, window in enumerate(windows.sort_values("start").itertuples(index=False)):
        fig.add_vrect(
            x0=window.start,
            x1=window.end,
            fillcolor=FAULT_FILLS.get(str(getattr(window, "fault", "")), FAULT_FILL),
            opacity=0.15,
            line_width=0,
            layer="below",
            exclude_empty_subplots=False,
            annotation_text=f"{window.profile} on {window.target}",
            annotation_position="top left",
            annotation_font_size=10,
            # short windows sit close together: stagger their labels over three rows
            annotation=dict(yshift=-13 * (index % 3)),
        )
    return fig


def latency_percentiles(frame: pd.DataFrame, profile: str = "profile",
                        percentile: str = "percentile", value: str = "value",
                        unit: str = "ms") -> go.Figure:
    """Return a grouped bar chart: one bar group per profile, one bar per percentile.

    `frame` is long-form, one row per (profile, percentile), e.g. from
    `syncbench.stats.percentiles_by`.
    """
    require_columns(frame, (profile, percentile, value), "latency percentiles")
    bars = (go.Bar(name=str(name), x=group[profile], y=group[value])
            for name, group in frame.groupby(percentile, sort=False))
    return figure(bars, title="Latency percentiles by profile", x_title="network profile",
                  y_title=f"latency ({unit})", legend_title="percentile", barmode="group")


def latency_cdf(frame: pd.DataFrame, profile: str = "profile", value: str = "value",
                fraction: str = "fraction", unit: str = "ms",
                title: str = "Latency CDF by profile",
                y_title: str = "fraction of requests") -> go.Figure:
    """Return one step line per `profile` (any grouping column) through precomputed ECDF
    points (`value`, `fraction`).

    Compute the points with `syncbench.stats.ecdf_by`.
    """
    require_columns(frame, (profile, value, fraction), "latency CDF")
    steps = (go.Scatter(name=str(name), x=group[value], y=group[fraction], mode="lines",
                        line_shape="hv")
             for name, group in frame.groupby(profile, sort=False))
    return figure(steps, title=title, x_title=f"latency ({unit})", y_title=y_title,
                  legend_title=profile, yaxis_range=[0, 1.02])


HOVER_COLUMNS = ("client", "operation", "attempts", "error")


def outcome_timeline(
    operations: pd.DataFrame,
    windows: pd.DataFrame | None = None,
    time: str = "time",
    outcome: str = "outcome",
    latency: str = "latency_ms",
) -> go.Figure:
    """Return each operation as a point (time vs latency) coloured by outcome (ok/fail/info),
    with the fault windows shaded; hovering a point names its client, operation, attempts
    and error (HOVER_COLUMNS, where the frame has them)."""
    require_columns(operations, (time, outcome, latency), "outcome timeline")
    shown = [column for column in HOVER_COLUMNS if column in operations.columns]
    lines = [f"{column} %{{customdata[{i}]}}" for i, column in enumerate(shown)]
    hover = "<br>".join([*lines, "%{x}", "latency %{y:.1f} ms"])
    points = (go.Scatter(name=str(name), x=group[time], y=group[latency], mode="markers",
                         marker={"color": OUTCOME_COLOURS.get(str(name)), "size": 5},
                         customdata=group[shown].astype(object).where(
                             group[shown].notna(), "-").to_numpy() if shown else None,
                         hovertemplate=hover + f"<extra>{name}</extra>")
              for name, group in operations.groupby(outcome, sort=False))
    fig = figure(points, title="Operation outcomes over time", x_title="time",
                 y_title="latency (ms)", legend_title="outcome")
    return shade_fault_windows(fig, windows)


def retries_per_request(frame: pd.DataFrame, retries: str = "retries") -> go.Figure:
    """Return a histogram of how many retries each request needed (one row per request)."""
    require_columns(frame, (retries,), "retries per request")
    histogram = go.Histogram(x=frame[retries], xbins={"size": 1}, name="requests")
    return figure([histogram], title="Retries per request", x_title="retries",
                  y_title="requests", bargap=0.1)


def breaker_timeline(
    transitions: pd.DataFrame,
    windows: pd.DataFrame | None = None,
    time: str = "time",
    state: str = "state",
    end: object | None = None,
) -> go.Figure:
    """Return the circuit breaker's state over time as a step chart from its transitions.

    One row per transition (the state entered at `time`); `end` extends the last state to
    the end of the run.
    """
    require_columns(transitions, (time, state), "breaker timeline")
    ordered = transitions.sort_values(time)
    x = list(ordered[time])
    y = list(ordered[state])
    if end is not None and y:
        x.append(end)
        y.append(y[-1])
    known = [s for s in BREAKER_STATES if s in set(y)]
    extra = sorted({str(s) for s in y} - set(BREAKER_STATES))
    line = go.Scatter(name="breaker", x=x, y=y, mode="lines+markers", line_shape="hv")
    fig = figure([line], title="Circuit breaker state", x_title="time", y_title="state",
                 yaxis={"categoryorder": "array", "categoryarray": known + extra})
    return shade_fault_windows(fig, windows)


def event_delivery_latency(
    frame: pd.DataFrame,
    windows: pd.DataFrame | None = None,
    time: str = "time",
    latency: str = "latency_ms",
    client: str | None = "client",
) -> go.Figure:
    """Return each delivered event's latency over time, one trace per receiving client."""
    require_columns(frame, (time, latency), "event delivery latency")
    groups: Iterable = (
        frame.groupby(client, sort=False)
        if client and client in frame.columns
        else [("events", frame)]
    )
    points = (go.Scatter(name=str(name), x=group[time], y=group[latency], mode="markers",
                         marker={"size": 5})
              for name, group in groups)
    fig = figure(points, title="Event delivery latency", x_title="time",
                 y_title="delivery latency (ms)", legend_title="client")
    return shade_fault_windows(fig, windows)


def convergence_time(
    frame: pd.DataFrame, profile: str = "profile", seconds: str = "convergence_s"
) -> go.Figure:
    """Return a bar per profile of the time replicas took to converge (one row per profile)."""
    require_columns(frame, (profile, seconds), "convergence time")
    bar = go.Bar(name="convergence", x=frame[profile], y=frame[seconds])
    return figure([bar], title="Convergence time by profile", x_title="network profile",
                  y_title="time to converge (s)")


def recovery_time(frame: pd.DataFrame, kind: str = "choice",
                  seconds: str = "recovery_s") -> go.Figure:
    """Return the time to recover after each fault, one box (with every point) per kind."""
    require_columns(frame, (kind, seconds), "recovery time")
    boxes = (go.Box(name=str(name), y=group[seconds], boxpoints="all", jitter=0.3,
                    marker={"color": FAULT_FILLS.get(str(name), FAULT_FILL)})
             for name, group in frame.dropna(subset=[seconds]).groupby(kind, sort=True))
    return figure(boxes, title="Time to recover after each fault", x_title="fault kind",
                  y_title="until an affected client's next ok operation (s)",
                  showlegend=False)


def require_columns(frame: pd.DataFrame, columns: Iterable[str], chart: str) -> None:
    """Raise ValueError naming the columns `frame` lacks for `chart`."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{chart} chart needs columns {missing}; the frame has {list(frame.columns)}"
        )
