"""The resilience notebook's figures: one call each, drawn by syncbench.charts."""

from __future__ import annotations

import plotly.graph_objects as go

from syncbench import charts
from syncbench.studies.resilience.result import ResilienceResult


def outcomes(result: ResilienceResult) -> go.Figure:
    """Each operation at its invocation, by latency; the fault windows shaded."""
    return charts.outcome_timeline(result.frame("operations"), result.frame("windows"))


def retries(result: ResilienceResult) -> go.Figure:
    """How many retries each request needed."""
    return charts.retries_per_request(result.retries_frame())


def latency(result: ResilienceResult) -> go.Figure:
    """Latency percentiles of operations invoked during each fault, against the baseline."""
    return charts.latency_percentiles(result.frame("latency_percentiles"), profile="phase")


def breaker(result: ResilienceResult) -> go.Figure:
    """The breaker's state over time, the fault windows shaded."""
    return charts.breaker_timeline(result.breaker_states(), result.frame("windows"),
                                   end=result.end_time)


__all__ = ["breaker", "latency", "outcomes", "retries"]
