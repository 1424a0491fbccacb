"""Each chart returns a Figure with the traces and shapes its data asks for."""

from __future__ import annotations

import warnings

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from syncbench import charts
from syncbench import stats as metrics

WINDOWS = pd.DataFrame(
    [
        {"target": "server", "profile": "latency_500ms", "start": 10.0, "end": 20.0},
        {"target": "websocket", "profile": "reset_peer", "start": 30.0, "end": 35.0},
    ]
)


def vrects(fig: go.Figure) -> list[tuple[float, float]]:
    return [
        (shape.x0, shape.x1)
        for shape in fig.layout.shapes
        if shape.type == "rect" and shape.yref == "y domain"
    ]


def test_latency_percentiles_has_a_bar_trace_per_percentile() -> None:
    samples = pd.DataFrame(
        {"profile": ["clean"] * 4 + ["lossy"] * 4, "latency_ms": [1, 2, 3, 4, 10, 20, 30, 40]}
    )
    fig = charts.latency_percentiles(
        metrics.percentiles_by(samples, "latency_ms", "profile", (50, 99))
    )
    assert isinstance(fig, go.Figure)
    assert [trace.name for trace in fig.data] == ["p50", "p99"]
    assert all(trace.type == "bar" for trace in fig.data)
    assert list(fig.data[0].x) == ["clean", "lossy"]
    assert fig.layout.barmode == "group"


def test_latency_cdf_draws_the_given_points_per_profile() -> None:
    points = metrics.ecdf_by(
        pd.DataFrame({"profile": ["a", "a", "b"], "ms": [3, 1, 5]}), "ms", "profile"
    )
    fig = charts.latency_cdf(points)
    assert [trace.name for trace in fig.data] == ["a", "b"]
    assert list(fig.data[0].x) == [1, 3]
    assert list(fig.data[0].y) == [0.5, 1.0]
    assert fig.data[0].line.shape == "hv"


def test_outcome_timeline_has_a_trace_per_outcome_and_a_vrect_per_fault_window() -> None:
    operations = pd.DataFrame(
        {
            "time": [1.0, 12.0, 31.0],
            "outcome": ["ok", "info", "fail"],
            "latency_ms": [5.0, 500.0, 0.0],
        }
    )
    fig = charts.outcome_timeline(operations, WINDOWS)
    assert [trace.name for trace in fig.data] == ["ok", "info", "fail"]
    assert fig.data[2].marker.color == charts.OUTCOME_COLOURS["fail"]
    assert vrects(fig) == [(10.0, 20.0), (30.0, 35.0)]
    labels = [annotation.text for annotation in fig.layout.annotations]
    assert labels == ["latency_500ms on server", "reset_peer on websocket"]


def test_outcome_timeline_hover_names_client_operation_attempts_and_error() -> None:
    operations = pd.DataFrame({"time": [1.0, 2.0], "outcome": ["ok", "fail"],
                               "latency_ms": [5.0, 9.0], "client": ["c0", "c1"],
                               "operation": ["create", "update"], "attempts": [1, 3],
                               "error": [None, "HTTP 503"]})
    fig = charts.outcome_timeline(operations)
    failed = fig.data[1]
    assert list(failed.customdata[0]) == ["c1", "update", 3, "HTTP 503"]
    assert list(fig.data[0].customdata[0]) == ["c0", "create", 1, "-"]
    for name in ("client %{customdata[0]}", "operation %{customdata[1]}",
                 "attempts %{customdata[2]}", "error %{customdata[3]}"):
        assert name in failed.hovertemplate


def test_no_windows_means_no_shading() -> None:
    operations = pd.DataFrame({"time": [1.0], "outcome": ["ok"], "latency_ms": [5.0]})
    assert vrects(charts.outcome_timeline(operations)) == []
    assert vrects(charts.outcome_timeline(operations, WINDOWS.iloc[0:0])) == []


def test_retries_per_request_is_a_histogram_with_unit_bins() -> None:
    fig = charts.retries_per_request(pd.DataFrame({"retries": [0, 0, 1, 3]}))
    [trace] = fig.data
    assert trace.type == "histogram"
    assert list(trace.x) == [0, 0, 1, 3]
    assert trace.xbins.size == 1


def test_breaker_timeline_is_a_step_chart_extended_to_the_end() -> None:
    transitions = pd.DataFrame(
        {"time": [0.0, 12.0, 17.0, 18.0], "state": ["closed", "open", "half_open", "closed"]}
    )
    fig = charts.breaker_timeline(transitions.iloc[::-1], WINDOWS, end=40.0)
    [trace] = fig.data
    assert trace.line.shape == "hv"
    assert list(trace.x) == [0.0, 12.0, 17.0, 18.0, 40.0]
    assert list(trace.y) == ["closed", "open", "half_open", "closed", "closed"]
    assert list(fig.layout.yaxis.categoryarray) == ["closed", "half_open", "open"]
    assert len(vrects(fig)) == 2


def test_event_delivery_latency_has_a_trace_per_client() -> None:
    events = pd.DataFrame(
        {"time": [1, 2, 3], "latency_ms": [4, 5, 6], "client": ["c1", "c2", "c1"]}
    )
    fig = charts.event_delivery_latency(events, WINDOWS)
    assert [trace.name for trace in fig.data] == ["c1", "c2"]
    assert len(vrects(fig)) == 2
    single = charts.event_delivery_latency(events.drop(columns="client"))
    assert [trace.name for trace in single.data] == ["events"]


def test_convergence_time_has_a_bar_per_profile() -> None:
    fig = charts.convergence_time(
        pd.DataFrame({"profile": ["clean", "lossy"], "convergence_s": [0.4, 3.2]})
    )
    [trace] = fig.data
    assert trace.type == "bar"
    assert list(trace.x) == ["clean", "lossy"] and list(trace.y) == [0.4, 3.2]


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match=r"outcome timeline chart needs columns \['outcome'\]"):
        charts.outcome_timeline(pd.DataFrame({"time": [1], "latency_ms": [2]}))
    with pytest.raises(ValueError, match="fault windows chart needs columns"):
        charts.shade_fault_windows(go.Figure(), pd.DataFrame({"start": [1], "end": [2]}))


def test_ecdf_of_nothing_is_empty() -> None:
    assert metrics.ecdf([]).empty


def test_setup_rendering_without_a_browser_warns_and_stays_interactive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    monkeypatch.setenv(charts.STATIC_CHARTS_ENV, "1")  # as under the runner
    monkeypatch.setattr(charts, "_warned_no_png", False)
    monkeypatch.setattr(pio.renderers, "default", pio.renderers.default)
    with pytest.warns(RuntimeWarning, match="interactive only"):
        assert charts.setup_rendering() == "plotly_mimetype"
    assert pio.renderers.default == "plotly_mimetype"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        assert charts.setup_rendering() == "plotly_mimetype"


def test_a_kaleido_start_that_fails_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # kaleido's page called before its script loaded (seen in CI on a loaded machine)
    failures = ["ReferenceError: kaleido_scopes is not defined"] * (charts.KALEIDO_ATTEMPTS - 1)

    def start() -> None:
        if failures:
            raise RuntimeError(failures.pop())

    monkeypatch.setenv("BROWSER_PATH", "/usr/bin/chromium")  # restored: rendering sets it
    monkeypatch.setattr(charts, "find_browser", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(charts, "_start_kaleido", start)
    monkeypatch.setattr(pio.renderers, "default", pio.renderers.default)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the last try rendered
        assert charts.setup_rendering(png=True) == "plotly_mimetype+png"
    failures[:] = ["still broken"] * charts.KALEIDO_ATTEMPTS
    monkeypatch.setattr(charts, "_warned_no_png", False)
    with pytest.warns(RuntimeWarning, match="kaleido could not render.*still broken"):
        assert charts.setup_rendering(png=True) == "plotly_mimetype"


def test_setup_rendering_can_skip_png() -> None:
    previous = pio.renderers.default
    try:
        assert charts.setup_rendering(png=False) == "plotly_mimetype"
    finally:
        pio.renderers.default = previous


def test_outside_the_runner_no_png_is_rendered_and_no_browser_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a JupyterLab kernel: interactive at once, and no 1.2 GB headless Chromium per notebook
    monkeypatch.delenv(charts.STATIC_CHARTS_ENV, raising=False)
    monkeypatch.setattr(charts, "find_browser", lambda: pytest.fail("looked for a browser"))
    monkeypatch.setattr(pio.renderers, "default", pio.renderers.default)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert charts.setup_rendering() == "plotly_mimetype"
