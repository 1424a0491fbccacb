"""The study's figures draw its frames and name the columns they miss."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from syncbench.studies.conflicts import lww_skew_chart, outcome_heatmap

from .test_checks import outcome_row


def test_outcome_heatmap_draws_one_cell_per_scenario_and_strategy() -> None:
    frame = pd.DataFrame([outcome_row(), outcome_row(strategy="merge", outcome="merged"),
                          outcome_row(scenario="edit_delete", outcome="silently lost"),
                          outcome_row(scenario="edit_delete", strategy="merge",
                                      outcome="unexpected")])
    fig = outcome_heatmap(frame)
    assert isinstance(fig, go.Figure)
    assert fig.data[0].z.shape == (2, 2)
    assert "silently lost" in fig.data[0].text[1][0]


def test_lww_skew_chart_draws_one_line_per_ordering() -> None:
    frame = pd.DataFrame({"skew_s": [0.0, 1.0, 0.0, 1.0],
                          "ordering": ["skewed_first", "skewed_first", "skewed_last", "skewed_last"],
                          "newer_write_lost_share": [0.0, 1.0, 0.0, 0.0]})
    assert len(lww_skew_chart(frame).data) == 2


def test_charts_name_missing_columns() -> None:
    with pytest.raises(ValueError, match="outcome"):
        outcome_heatmap(pd.DataFrame({"scenario": [], "strategy": []}))
    with pytest.raises(ValueError, match="ordering"):
        lww_skew_chart(pd.DataFrame({"skew_s": [], "newer_write_lost_share": []}))
