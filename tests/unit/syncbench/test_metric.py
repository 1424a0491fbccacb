"""syncbench.metric: a measurement carries its unit from where it is made."""

from __future__ import annotations

import numpy as np
import pytest

from syncbench.metric import COUNT, MS, PER_S, UNITS, Metric, Metrics


def test_a_metric_keeps_its_unit_and_a_plain_value() -> None:
    metric = Metric("latency_p99_ms", np.float64(12.5), MS)
    assert metric.to_dict() == {"value": 12.5, "unit": "ms"}
    assert type(metric.value) is float


def test_an_unknown_unit_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown unit 'msec'") as error:
        Metric("latency", 1.0, "msec")
    assert all(unit in str(error.value) for unit in UNITS)


def test_a_count_has_the_empty_unit() -> None:
    assert Metric("tasks", 3).unit == COUNT == ""


def test_metrics_add_names_and_returns_the_metric() -> None:
    metrics = Metrics()
    made = metrics.add("throughput", np.int64(900), PER_S)
    assert metrics["throughput"] is made
    assert metrics.value("throughput") == 900
    metrics.add("throughput", 950, PER_S)
    assert metrics.value("throughput") == 950 and len(metrics) == 1


def test_an_unknown_metric_names_the_metrics_there_are() -> None:
    metrics = Metrics()
    metrics.add("a", 1)
    with pytest.raises(KeyError, match=r"no metric 'b'; metrics: \['a'\]"):
        metrics.value("b")
