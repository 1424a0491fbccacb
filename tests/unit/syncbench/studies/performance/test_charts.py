"""The study's charts draw the result frames and name a missing column."""

from __future__ import annotations

import pandas as pd
import pytest

from syncbench.studies.performance import charts
from syncbench.studies.performance.figures import fanout_percentiles
from tests.unit.syncbench.studies.performance.frames import figures


def test_charts_take_the_result_frames() -> None:
    frame = figures()
    percentiles = fanout_percentiles(frame)
    assert len(charts.throughput_by_workers(frame).data) == 2
    assert len(charts.batch_time_by_size(frame).data) == 1
    assert len(charts.fanout_latency_by_subscribers(percentiles).data) == 3


def test_rss_over_time_shades_the_profile_windows() -> None:
    t0 = pd.Timestamp("2026-01-01T00:00:00Z")
    memory = pd.DataFrame({"time_s": [0.0, 0.5], "time": [t0, t0 + pd.Timedelta("0.5s")],
                           "rss_mib": [50.0, 51.0], "phase": ["start", "lan: create"]})
    windows = pd.DataFrame([{"fault_id": 1, "fault": "network", "target": "load",
                             "profile": "lan", "phase": "lan", "start": t0,
                             "end": t0 + pd.Timedelta("1s"), "healed": True}])
    fig = charts.rss_over_time(memory, windows)
    assert len(fig.data) == 2 and len(fig.layout.shapes) == 1
    assert len(charts.rss_over_time(memory).layout.shapes) == 0
    with pytest.raises(ValueError, match="rss_mib"):
        charts.rss_over_time(memory.drop(columns="rss_mib"))
