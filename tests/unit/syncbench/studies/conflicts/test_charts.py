"""The study's figures draw its frames and name the columns they miss."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from syncbench.studies.conflicts import contest_grid, lww_skew_chart, outcome_heatmap

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


def test_the_contest_grid_draws_as_an_outcome_heatmap() -> None:
    generated = {"workload": "generated", "scenario": "generated edit/delete"}
    outcomes = pd.DataFrame([outcome_row(**generated), outcome_row(**generated,
                                                                   outcome="unexpected"),
                             outcome_row(workload="generated", scenario="generated edit/edit",
                                         strategy="merge", outcome="merged")])
    fig = outcome_heatmap(contest_grid(outcomes), row="kind", label="label")
    assert list(fig.data[0].y) == ["edit/delete", "edit/edit"]
    assert "1 unexpected" in fig.data[0].text[0][0]
    assert fig.data[0].text[0][1] == ""  # no edit/delete contest under merge: a blank cell
    assert "none in this run" in outcome_heatmap(
        contest_grid(pd.DataFrame([outcome_row()])), row="kind", label="label"
    ).layout.title.text
